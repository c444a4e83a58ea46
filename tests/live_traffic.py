"""Helpers for the live-wire tests: real pika traffic, an in-process proxy, mqctl as a subprocess.

`run_session` declares, publishes with properties and confirms, consumes and acks, provokes a
channel error and cleans up, and returns what the client saw so that a run through the proxy can be
compared with a direct run.
"""

from __future__ import annotations

import datetime
import decimal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pika
import pika.exceptions

from mqctl.wire.live import FanOut
from mqctl.wire.proxy import (
    Closed,
    Data,
    LiveEvent,
    LiveSink,
    LiveTap,
    ProxySettings,
    TcpProxy,
    drive,
)
from tests.run import Run, process_env, run_process, without_mqctl_variables

E = TypeVar("E")

LARGE_BODY = bytes(range(256)) * 1200  # 307,200 bytes: several body frames at frame_max 131072
BODIES = [b"hello", b"\x00\xff binary \x01\x02", b'{"order": 17, "total": "9.99"}', LARGE_BODY]


def properties(index: int) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json" if index == 2 else "application/octet-stream",
        content_encoding="identity",
        headers={
            "string": "value",
            "int": 42,
            "negative": -7,
            "bool": True,
            "decimal": decimal.Decimal("3.14"),
            "time": datetime.datetime(2023, 11, 14, 22, 13, 20),
            "nested": {"a": [1, "two", None]},
            "bytes": b"\x01\x02",
        },
        delivery_mode=2,
        priority=3,
        correlation_id=f"corr-{index}",
        reply_to="reply.queue",
        expiration="60000",
        message_id=f"msg-{index}",
        timestamp=1700000000 + index,
        type="test.message",
        user_id="guest",
        app_id="mqctl-tests",
    )


@dataclass
class SessionResult:
    bodies: list[bytes] = field(default_factory=list)
    props: list[dict[str, Any]] = field(default_factory=list)
    delivery_tags: list[int] = field(default_factory=list)
    channel_error: tuple[int, str] | None = None

    def comparable(self) -> tuple[Any, ...]:
        return (self.bodies, self.props, self.delivery_tags, self.channel_error)


def _props_dict(p: pika.BasicProperties) -> dict[str, Any]:
    return {k: v for k, v in vars(p).items() if v is not None}


def run_session(port: int, name: str, host: str = "127.0.0.1") -> SessionResult:
    """Declare, publish with confirms, consume with acks, provoke a 404; names derive from `name`."""
    params = pika.ConnectionParameters(
        host=host,
        port=port,
        credentials=pika.PlainCredentials("guest", "guest"),
        heartbeat=0,
        connection_attempts=1,
        socket_timeout=10,
        client_properties={"connection_name": name},
    )
    result = SessionResult()
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        exchange, queue = f"{name}-x", f"{name}-q"
        channel.exchange_declare(exchange, "direct", auto_delete=True)
        channel.queue_declare(queue, auto_delete=False, arguments={"x-max-length": 100})
        channel.queue_bind(queue, exchange, routing_key="rk")
        for index, body in enumerate(BODIES):
            channel.basic_publish(exchange, "rk", body, properties(index), mandatory=True)
        for method, props, body in channel.consume(queue, inactivity_timeout=5):
            if method is None:
                break
            result.bodies.append(body)
            result.props.append(_props_dict(props))
            result.delivery_tags.append(method.delivery_tag)
            channel.basic_ack(method.delivery_tag)
            if len(result.bodies) == len(BODIES):
                break
        channel.cancel()
        try:
            channel.exchange_declare(f"{name}-missing", passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            result.channel_error = (exc.reply_code, exc.reply_text.split(" - ")[0])
        cleanup = connection.channel()
        cleanup.queue_delete(queue)
        cleanup.exchange_delete(exchange)
        cleanup.close()
    finally:
        if connection.is_open:
            connection.close()
    return result


# --- an in-process proxy, and mqctl as a subprocess ---------------------------------------


@dataclass
class RecordingSink:
    """Collects every event, per connection, the way the decoder would receive them."""

    events: list[LiveEvent] = field(default_factory=list)
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, event: LiveEvent) -> None:
        with self.lock:
            self.events.append(event)

    def finish(self) -> None:
        self.finished = True

    def stream(self, conn: int, from_client: bool) -> bytes:
        return b"".join(
            e.data
            for e in self.events
            if isinstance(e, Data) and e.conn == conn and e.from_client == from_client
        )

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class RunningProxy:
    proxy: TcpProxy
    tap: LiveTap
    sink: RecordingSink
    port: int
    warnings: list[str]

    def settle(self, closed: int, timeout: float = 10.0) -> None:
        """Wait until `closed` connections have been reported closed to the sink."""
        wait_until(
            lambda: len(self.sink.of(Closed)) >= closed,
            lambda: f"only {len(self.sink.of(Closed))} of {closed} connections closed",
            timeout,
        )


def wait_until(
    condition: Callable[[], bool], failure: Callable[[], str], timeout: float = 10.0
) -> None:
    """Poll `condition` until it holds; AssertionError with `failure()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        time.sleep(0.02)


def start_proxy(
    upstream: tuple[str, int],
    queue_bytes: int = 64 << 20,
    sink: RecordingSink | None = None,
    also: LiveSink | None = None,
    listen: str = "127.0.0.1",
) -> Iterator[RunningProxy]:
    """A proxy serving on an ephemeral port in a thread; `also` sees the events too."""
    sink = sink or RecordingSink()
    warnings: list[str] = []
    tap = LiveTap(queue_bytes, warn=warnings.append)
    tap.start(drive(FanOut([sink, also]) if also else sink))
    settings = ProxySettings(listen=(listen, 0), upstream=upstream, queue_bytes=queue_bytes)
    proxy = TcpProxy(settings, tap, warn=warnings.append)
    bound: list[tuple[str, int]] = []
    ready = threading.Event()

    def listening(addresses: list[tuple[str, int]]) -> None:
        bound.extend(addresses)
        ready.set()

    thread = threading.Thread(target=proxy.serve, args=(listening,), daemon=True)
    thread.start()
    assert ready.wait(10), "proxy did not start listening"
    try:
        yield RunningProxy(proxy, tap, sink, bound[0][1], warnings)
    finally:
        proxy.shutdown()
        thread.join(10)
        tap.close(10)
        assert not thread.is_alive()


def plain_env() -> dict[str, str]:
    """A child's environment without the caller's MQCTL_* variables."""
    return process_env(without_mqctl_variables())


def mqctl(*args: str) -> Run:
    """`python -m mqctl ARGS` as a process, without the caller's MQCTL_* variables."""
    return run_process(*args, env=without_mqctl_variables(), timeout=60)

"""`wire proxy` against the real broker: forwarding is exact, the observer sees every byte."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pika
import pika.exceptions
import pytest
from live_traffic import BODIES, run_session

from mqctl.errors import BadInput
from mqctl.wire.live import FanOut
from mqctl.wire.proxy import (
    Closed,
    Data,
    Dropped,
    LiveEvent,
    LiveSink,
    LiveTap,
    Opened,
    ProxySettings,
    TcpProxy,
    drive,
    parse_host_port,
)

pytestmark = pytest.mark.broker

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


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

    def of(self, kind: type) -> list[LiveEvent]:
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.sink.of(Closed)) >= closed:
                return
            time.sleep(0.02)
        raise AssertionError(f"only {len(self.sink.of(Closed))} of {closed} connections closed")


def start_proxy(
    upstream: tuple[str, int],
    queue_bytes: int = 64 << 20,
    sink: RecordingSink | None = None,
    also: LiveSink | None = None,
) -> Iterator[RunningProxy]:
    """A proxy serving on an ephemeral port in a thread; `also` sees the events too."""
    sink = sink or RecordingSink()
    warnings: list[str] = []
    tap = LiveTap(queue_bytes, warn=warnings.append)
    tap.start(drive(FanOut([sink, also]) if also else sink))
    settings = ProxySettings(listen=("127.0.0.1", 0), upstream=upstream, queue_bytes=queue_bytes)
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


@pytest.fixture
def running(broker: str) -> Iterator[RunningProxy]:
    yield from start_proxy(("127.0.0.1", 5672))


def test_parse_host_port() -> None:
    assert parse_host_port("127.0.0.1:5673", "--listen") == ("127.0.0.1", 5673)
    assert parse_host_port("[::1]:5672", "--upstream") == ("::1", 5672)
    assert parse_host_port("broker.example:5671", "--upstream") == ("broker.example", 5671)
    for bad in ("5672", "host:", "::1:5672", "host:99999", ":5672"):
        with pytest.raises(BadInput, match="is not HOST:PORT"):
            parse_host_port(bad, "--listen")


def test_pika_session_through_proxy_matches_direct(running: RunningProxy, unique: str) -> None:
    direct = run_session(5672, f"{unique}-direct")
    proxied = run_session(running.port, f"{unique}-proxied")
    assert proxied.comparable() == direct.comparable()
    assert proxied.bodies == BODIES  # byte-identical, the large one across several body frames
    assert proxied.channel_error == (404, "NOT_FOUND")

    running.settle(closed=1)
    opened = running.sink.of(Opened)
    assert len(opened) == 1
    conn = opened[0].conn
    sent = running.sink.stream(conn, from_client=True)
    received = running.sink.stream(conn, from_client=False)
    assert sent.startswith(PROTOCOL_HEADER)
    assert received.startswith(b"\x01\x00\x00")  # Connection.Start on channel 0
    stats = running.tap.stats
    assert stats.bytes_from_clients == len(sent) and stats.bytes_from_upstream == len(received)
    for body in BODIES:
        assert body[:1000] in sent and body[:1000] in received
    assert not running.sink.of(Dropped)
    # pika closes with a FIN after Connection.CloseOk; RabbitMQ answers a FIN with an RST.
    assert stats.by_close == {"FIN from client, then reset by upstream": 1}


def test_many_concurrent_connections(running: RunningProxy, unique: str) -> None:
    count = 24

    def one(index: int) -> bytes:
        params = pika.ConnectionParameters(
            "127.0.0.1", running.port, heartbeat=0, connection_attempts=1, socket_timeout=10
        )
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            queue = f"{unique}-{index}"
            channel.queue_declare(queue, exclusive=True)
            body = f"message {index} ".encode() * (index + 1)
            channel.basic_publish("", queue, body)
            method, _props, got = channel.basic_get(queue, auto_ack=True)
            assert method is not None
            return bytes(got)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    assert results == [f"message {i} ".encode() * (i + 1) for i in range(count)]
    running.settle(closed=count)
    assert running.tap.stats.connections == count
    assert len({e.conn for e in running.sink.of(Opened)}) == count


def test_client_reset_is_passed_on_and_proxy_keeps_serving(
    running: RunningProxy, unique: str
) -> None:
    sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    sock.sendall(PROTOCOL_HEADER)
    assert sock.recv(7)[:1] == b"\x01"  # Connection.Start came back through the proxy
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an abrupt disconnect: RST, no Connection.Close
    running.settle(closed=1)
    assert running.sink.of(Closed)[0].reason == "reset by client"  # type: ignore[union-attr]
    # Still serving afterwards.
    assert run_session(running.port, unique).bodies == BODIES


def read_to_end(sock: socket.socket) -> tuple[bytes, str]:
    """Everything the peer sends, and how it ended ("eof" or "reset")."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    return data, "eof"


def test_wrong_protocol_header_answer_and_reset_as_direct(running: RunningProxy) -> None:
    outcomes = []
    for port in (5672, running.port):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"AMQP\x01\x01\x00\x0a")  # AMQP 1.0's header: the broker answers and resets
        outcomes.append(read_to_end(sock))
        sock.close()
    assert outcomes[1] == outcomes[0] == (PROTOCOL_HEADER, "reset")
    running.settle(closed=1)
    assert running.sink.of(Closed)[0].reason == "reset by upstream"  # type: ignore[union-attr]


@contextmanager
def tcp_server(handler: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection plain TCP upstream, to check TCP semantics the broker cannot show."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            handler(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(5)


def test_half_close_both_ways() -> None:
    def reverse_after_eof(conn: socket.socket) -> None:
        request, how = read_to_end(conn)  # until the client's FIN, passed on by the proxy
        assert how == "eof"
        conn.sendall(request[::-1])  # still allowed: only the client's direction is closed
        conn.shutdown(socket.SHUT_WR)

    with tcp_server(reverse_after_eof) as port:
        for running in start_proxy(("127.0.0.1", port)):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
            request = bytes(range(256)) * 4000
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            assert read_to_end(sock) == (request[::-1], "eof")
            sock.close()
            running.settle(closed=1)
            assert running.tap.stats.by_close == {"closed": 1}
            assert running.sink.stream(1, from_client=False) == request[::-1]


def test_upstream_reset_after_data_reaches_the_client() -> None:
    def answer_then_reset(conn: socket.socket) -> None:
        conn.recv(100)
        conn.sendall(b"partial answer")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with tcp_server(answer_then_reset) as port:
        for running in start_proxy(("127.0.0.1", port)):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
            sock.sendall(b"question")
            assert read_to_end(sock) == (b"partial answer", "reset")
            sock.close()
            running.settle(closed=1)
            assert running.tap.stats.by_close == {"reset by upstream": 1}


def test_broker_closing_the_connection(running: RunningProxy, unique: str) -> None:
    params = pika.ConnectionParameters(
        "127.0.0.1",
        running.port,
        virtual_host=f"{unique}-no-such-vhost",
        heartbeat=0,
        connection_attempts=1,
    )
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        pika.BlockingConnection(params)
    running.settle(closed=1)
    received = running.sink.stream(running.sink.of(Opened)[0].conn, from_client=False)
    assert b"NOT_ALLOWED" in received  # the broker's Connection.Close(530) reached the client


def test_upstream_unreachable(broker: str) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead_port = free.getsockname()[1]
    for running in start_proxy(("127.0.0.1", dead_port)):
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        with pytest.raises(ConnectionResetError):
            sock.sendall(PROTOCOL_HEADER)
            sock.recv(10)
        sock.close()
        deadline = time.monotonic() + 5
        while not running.warnings and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "cannot reach upstream" in running.warnings[0]
        assert running.proxy.stats.failed_connects == 1


class SlowSink(RecordingSink):
    def handle(self, event: LiveEvent) -> None:
        time.sleep(0.01)
        super().handle(event)


def test_slow_output_drops_observation_not_traffic(broker: str, unique: str) -> None:
    for running in start_proxy(("127.0.0.1", 5672), queue_bytes=4096, sink=SlowSink()):
        result = run_session(running.port, unique)
        assert result.bodies == BODIES  # the traffic was intact
        assert running.tap.stats.dropped_bytes > 300_000
        running.settle(closed=1, timeout=30)
        dropped = running.sink.of(Dropped)
        assert dropped  # the observer is told how much it missed, per direction
        seen = sum(len(e.data) for e in running.sink.of(Data))  # type: ignore[union-attr]
        missed = sum(e.size for e in dropped)  # type: ignore[union-attr]
        stats = running.tap.stats
        assert seen + missed == stats.bytes_from_clients + stats.bytes_from_upstream
        assert seen + stats.dropped_bytes == stats.bytes_from_clients + stats.bytes_from_upstream
        assert any("cannot keep up" in w for w in running.warnings)

"""Real AMQP traffic for the live-wire tests: one pika session that touches most of the protocol.

`run_session` declares, publishes with properties and confirms, consumes and acks, provokes a
channel error and cleans up, and returns what the client saw so that a run through the proxy can be
compared with a direct run.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions

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

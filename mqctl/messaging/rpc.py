"""Request/reply over direct reply-to: publish with reply_to=amq.rabbitmq.reply-to, await the reply.

Direct reply-to needs no reply queue: the broker routes the reply straight to this channel's
consumer on the pseudo-queue. The request is published mandatory, so that an unroutable request
fails at once instead of waiting out the timeout.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import pika.exceptions

from mqctl.amqp_connection import channel_error, connection_error, open_connection
from mqctl.config import ConnectionSettings
from mqctl.errors import BadInput, Interrupted, OperationFailed
from mqctl.messaging import codec
from mqctl.messaging.message import Delivery
from mqctl.messaging.properties import basic_properties
from mqctl.messaging.signals import SIGNAL_NAMES, stop_requests

REPLY_TO = "amq.rabbitmq.reply-to"


def request_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """The request's properties: reply_to set to direct reply-to, a correlation id ensured."""
    if props.get("reply_to") not in (None, REPLY_TO):
        raise BadInput(
            "--reply-to cannot be set for rpc: the reply comes back through direct reply-to",
            "drop --reply-to (mqctl publish --reply-to sends a request without waiting)",
        )
    result = dict(props)
    result["reply_to"] = REPLY_TO
    result.setdefault("correlation_id", uuid.uuid4().hex)
    return result


def call(
    settings: ConnectionSettings,
    exchange: str,
    routing_key: str,
    props: Mapping[str, Any],
    body: bytes,
    timeout: float,
) -> Delivery:
    """Send one request and return its reply; OperationFailed on a return or no reply in time."""
    codec.install()
    request = request_properties(props)
    correlation_id = request["correlation_id"]
    replies: list[Delivery] = []
    returns: list[str] = []
    connection = open_connection(settings)
    doing = f"sending the request to exchange {exchange!r}"
    try:
        channel = connection.channel()
        channel.add_on_return_callback(
            lambda _ch, method, _p, _b: returns.append(f"{method.reply_code} {method.reply_text}")
        )

        def on_reply(_ch: Any, method: Any, properties: Any, reply_body: bytes) -> None:
            if properties.correlation_id == correlation_id:
                replies.append(Delivery.from_method(method, properties, reply_body))

        channel.basic_consume(REPLY_TO, on_reply, auto_ack=True)
        if exchange:
            channel.exchange_declare(exchange, passive=True)
        channel.basic_publish(
            exchange, routing_key, body, basic_properties(request), mandatory=True
        )
        deadline = time.monotonic() + timeout
        stops: list[int] = []
        with stop_requests(stops.append):
            while not replies and not returns and not stops:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                connection.process_data_events(time_limit=min(remaining, 0.2))
        if stops and not replies:
            raise Interrupted(
                f"interrupted ({SIGNAL_NAMES.get(stops[0], stops[0])}): the request was sent, "
                f"no reply yet (correlation id {correlation_id})"
            )
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise channel_error(
            exc, doing, {406: "check the request's properties (user_id must be the connected user)"}
        ) from None
    except pika.exceptions.AMQPError as exc:
        raise connection_error(exc, settings) from None
    finally:
        if connection.is_open:
            connection.close()
    if returns:
        raise OperationFailed(
            f"the request was returned unroutable ({returns[0]}) by exchange {exchange!r} "
            f"with routing key {routing_key!r}",
            "check that a server's queue is bound there",
        )
    if not replies:
        raise OperationFailed(
            f"no reply within {timeout:g}s (correlation id {correlation_id})",
            "is the server running? raise --timeout if it is slow",
        )
    return replies[0]

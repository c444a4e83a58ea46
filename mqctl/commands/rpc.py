"""`mqctl rpc`: send a request through direct reply-to and print the reply like `consume` does."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.common import ConnectedCommand, connection_settings
from mqctl.commands.consume import BodyOnly, Format
from mqctl.commands.publish import (
    AppId,
    Body,
    BodyBase64,
    BodyFile,
    ClusterId,
    ContentEncoding,
    ContentType,
    CorrelationId,
    DeliveryMode,
    Exchange,
    Expiration,
    Header,
    MessageId,
    MessageType,
    Priority,
    PropertiesJson,
    ReplyTo,
    RoutingKey,
    Timestamp,
    UserId,
    properties_from_params,
)
from mqctl.output import MessageFormat, MessageWriter

RPC_HELP = (
    "Send a request and wait for its reply, through direct reply-to (amq.rabbitmq.reply-to) "
    "with a correlation id; the reply is printed like `consume` prints a message.\n\n"
    "Every publish option applies. Exit status 1 when no reply comes within --timeout or the "
    "request is unroutable.\n\n"
    'Example: mqctl rpc -k rpc.pricing --body \'{"sku": "A-1"}\' --timeout 5 --format jsonl'
)


def rpc_command(
    exchange: Exchange = None,
    routing_key: RoutingKey = None,
    body: Body = None,
    body_file: BodyFile = None,
    body_base64: BodyBase64 = None,
    content_type: ContentType = None,
    content_encoding: ContentEncoding = None,
    delivery_mode: DeliveryMode = None,
    priority: Priority = None,
    correlation_id: CorrelationId = None,
    reply_to: ReplyTo = None,
    expiration: Expiration = None,
    message_id: MessageId = None,
    timestamp: Timestamp = None,
    type: MessageType = None,
    user_id: UserId = None,
    app_id: AppId = None,
    cluster_id: ClusterId = None,
    header: Header = None,
    properties_json: PropertiesJson = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", "-t", min=0.01, help="Seconds to wait. Example: --timeout 5"),
    ] = 10.0,
    fmt: Format = MessageFormat.pretty,
    body_only: BodyOnly = False,
) -> None:
    params = locals()
    from mqctl.messaging import rpc  # here, not at the top: pika costs every start
    from mqctl.messaging.message import read_body

    props = rpc.request_properties(properties_from_params(params))
    payload = read_body(body, body_file, body_base64)
    writer = MessageWriter(fmt, body_only=body_only)
    reply = rpc.call(
        connection_settings(), exchange or "", routing_key or "", props, payload, timeout
    )
    writer.write_batch([reply])
    writer.close()


def register(app: typer.Typer) -> None:
    app.command("rpc", cls=ConnectedCommand, help=RPC_HELP)(rpc_command)

"""`mqctl rpc`: send a request through direct reply-to and print the reply like `consume` does."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.consume import BodyOnly, Format
from mqctl.commands.message_options import MessageFlags
from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app
from mqctl.errors import OperationFailed
from mqctl.output import MessageFormat, MessageWriter

RPC_HELP = (
    "Send a request and wait for its reply, through direct reply-to (amq.rabbitmq.reply-to) "
    "with a correlation id; the reply is printed like `consume` prints a message.\n\n"
    "Every publish option applies. Exit status 1 when no reply comes within --timeout or the "
    "request is unroutable.\n\n"
    'Example: mqctl rpc -k rpc.pricing --body \'{"sku": "A-1"}\' --timeout 5 --format jsonl'
)


app = command_app()


@app.command("rpc", help=RPC_HELP)
@option_sets
def rpc_command(
    given: MessageFlags,
    connection: ConnectionFlags,
    timeout: Annotated[
        float,
        typer.Option("--timeout", "-t", min=0.01, help="Seconds to wait. Example: --timeout 5"),
    ] = 10.0,
    fmt: Format = MessageFormat.pretty,
    body_only: BodyOnly = False,
) -> None:
    from mqctl.messaging import rpc  # here, not at the top: pika costs every start
    from mqctl.messaging.message import OutputFailed, read_body

    props = rpc.request_properties(given.properties())
    payload = read_body(given.body, given.body_file, given.body_base64)
    writer = MessageWriter(fmt, body_only=body_only)
    reply = rpc.call(
        connection.settings(),
        given.exchange or "",
        given.routing_key or "",
        props,
        payload,
        timeout,
    )
    try:
        writer.write_batch([reply])
    except OutputFailed as exc:
        raise OperationFailed(
            f"the reply arrived but writing it failed ({exc.cause.strerror or exc.cause}); "
            "direct reply-to keeps no copy of it",
            "free the output (disk space, the reading end) and send the request again",
        ) from None
    finally:
        writer.close()

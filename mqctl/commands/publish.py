"""`mqctl publish`: test messages with every property, typed headers and pipelined confirms.

The message options (exchange, routing key, body, properties, headers) are one option set,
`MessageFlags`, which `mqctl rpc` takes too.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from mqctl import output
from mqctl.commands.message_options import MessageFlags
from mqctl.commands.options import (
    ConnectionFlags,
    ReconnectFlag,
    failover_connection,
    option_sets,
)
from mqctl.commands.registry import command_app
from mqctl.errors import BadInput, Interrupted, OperationFailed
from mqctl.messaging.choices import DEFAULT_WINDOW

# The messaging modules (and pika with them) are imported inside the commands, not here: the
# command tree is built at every start and every completion TAB.


PUBLISH_HELP = (
    "Publish test messages with full control of properties and typed headers.\n\n"
    "Confirms are on and pipelined. The final line says how many messages were sent, confirmed, "
    "returned (reply code and text) and nacked; the exit status is 1 when any was returned or "
    "nacked, 4 on bad input (with --input: what came before the bad line is published).\n\n"
    "With --reconnect (on by default with several --url), a lost connection is opened again and "
    "only the messages it had not confirmed are published again; the last line says how many "
    "(republished N: they may be duplicates).\n\n"
    "Example: mqctl publish -k orders --body '{\"id\": 1}' --content-type application/json "
    "-H x-retry=3 -H sent:timestamp=now --delivery-mode persistent"
)


app = command_app()


@app.command("publish", help=PUBLISH_HELP)
@option_sets
def publish_command(
    given: MessageFlags,
    connection: ConnectionFlags,
    count: Annotated[
        int,
        typer.Option("--count", "-n", min=1, help="Publish the message N times. Example: -n 1000"),
    ] = 1,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="At most R messages per second. Example: --rate 50",
            show_default=False,
        ),
    ] = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="Publish every message of a JSON-lines file ('-' for stdin), the shape "
            "`consume --format jsonl` prints; flags given here override each line's values. "
            "Example: --input saved.jsonl",
            show_default=False,
        ),
    ] = None,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm/--no-confirm",
            help="Wait for publisher confirms (pipelined). Example: --no-confirm",
        ),
    ] = True,
    confirm_window: Annotated[
        int,
        typer.Option(
            "--confirm-window",
            min=1,
            help="How many confirms may be outstanding at once. Example: --confirm-window 200",
        ),
    ] = DEFAULT_WINDOW,
    mandatory: Annotated[
        bool,
        typer.Option(
            "--mandatory/--no-mandatory",
            help="Have unroutable messages returned (Basic.Return), which makes the exit status 1: "
            "on by default, since a confirm only says the broker took a message, not that a queue "
            "got it. --no-mandatory drops them unseen. Example: --no-mandatory",
        ),
    ] = True,
    reconnect: ReconnectFlag = None,
) -> None:
    props = given.properties()
    if reconnect and not confirm:
        raise BadInput(
            "--reconnect needs confirms: without them nothing says which messages to publish again",
            "leave out --no-confirm",
        )
    from mqctl.messaging.feed import InputFeed
    from mqctl.messaging.message import OutgoingMessage, Overrides, read_body
    from mqctl.messaging.properties import basic_properties
    from mqctl.messaging.publisher import PublishOptions, Repeated, progress_text, publish

    if input is not None:
        if given.has_body:
            raise BadInput("--input and a --body option were both given", "give one of them")
        if count != 1:
            raise BadInput("--count does not combine with --input", "repeat lines in the file")
        # Opened now, read once the connection is up and the exchange checked.
        messages: Any = InputFeed(
            input, Overrides(given.exchange, given.routing_key, props or None), confirm_window * 2
        )
        total = None
    else:
        if not given.has_body and sys.stdin.isatty():
            output.info("reading the body from standard input (end it with Ctrl-D)")
        message = OutgoingMessage(
            given.exchange or "",
            given.routing_key or "",
            basic_properties(props),
            read_body(given.body, given.body_file, given.body_base64),
        )
        messages = total = Repeated(message, count)
    options = PublishOptions(confirm=confirm, mandatory=mandatory, window=confirm_window, rate=rate)
    settings, failover = failover_connection(connection, reconnect if confirm else False)
    with output.progress(len(total) if total is not None else None, "publishing") as advance:
        result = publish(settings, messages, options, progress=advance, failover=failover)
    if result.error is not None and not result.sent:
        raise result.error  # nothing went out: the error alone says it all
    output.publish_summary(result, mandatory)
    if result.error is not None:
        raise result.error
    if result.interrupted:
        raise Interrupted(f"interrupted ({result.signal or 'Ctrl-C'}): {progress_text(result)}")
    problems = []
    if result.returned_count:
        problems.append(f"{result.returned_count} returned as unroutable")
    if result.nacked:
        problems.append(f"{result.nacked} nacked by the broker")
    if result.unconfirmed:
        problems.append(f"{result.unconfirmed} never confirmed")
    if problems:
        raise OperationFailed(
            f"{' and '.join(problems)} of {result.sent} messages",
            "check the exchange, routing key and bindings (returns) or the queue's limits (nacks)",
        )

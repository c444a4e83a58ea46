"""`mqctl consume` and `mqctl get`: read messages faithfully, and never lose one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mqctl import output
from mqctl.commands.options import (
    ConnectionFlags,
    ReconnectFlag,
    failover_connection,
    option_sets,
)
from mqctl.commands.registry import command_app
from mqctl.errors import BadInput, Interrupted, OperationFailed
from mqctl.output import MessageFormat, MessageWriter

if TYPE_CHECKING:
    from mqctl.config import ConnectionSettings
    from mqctl.messaging.consumer import AckMode, ConsumeResult

# mqctl.messaging.consumer (and pika with it) is imported inside the commands, not here: the
# command tree is built at every start and every completion TAB.

ACK = "Acknowledgement"

Format = Annotated[
    MessageFormat,
    typer.Option(
        "--format",
        "-f",
        help="pretty (plain text when piped), json (an array) or jsonl (one object per message, "
        "the shape `publish --input` reads). Example: --format jsonl",
    ),
]
BodyOnly = Annotated[
    bool,
    typer.Option("--body-only", help="Write only each body, one per line. Example: --body-only"),
]
Requeue = Annotated[
    bool,
    typer.Option(
        "--requeue",
        help="A look: every message goes back to the queue afterwards (nack with requeue). "
        "Example: mqctl get -q orders -n 5 --requeue",
        rich_help_panel=ACK,
    ),
]
Reject = Annotated[
    bool,
    typer.Option(
        "--reject",
        help="Reject each message (no requeue) after writing it, so dead-lettering applies. "
        "Example: --reject",
        rich_help_panel=ACK,
    ),
]

CONSUME_HELP = (
    "Consume messages and show every property and typed header.\n\n"
    "Each message is acked only after it has been written and flushed (when stdout is a pipe: "
    "after the reader has read it). On Ctrl-C (exit 130), a broken pipe or an output error "
    "(exit 1) the messages not yet written go back to the queue.\n\n"
    "With --reconnect (on by default with several --url), a lost connection is opened again and "
    "consuming goes on; nothing delivered on the old connection is acked on the new one, and "
    "the last messages written before the loss may come again (redelivered).\n\n"
    "Example: mqctl consume --queue orders --count 10 --timeout 5 --format jsonl > saved.jsonl"
)
GET_HELP = (
    "Fetch messages with basic.get (a pull, no consumer); stops early when the queue is empty."
    "\n\nExample: mqctl get --queue orders --count 5 --requeue"
)


def ack_mode(requeue: bool, reject: bool, no_ack: bool = False) -> AckMode:
    from mqctl.messaging.consumer import AckMode

    chosen = [
        name
        for name, on in (("--requeue", requeue), ("--reject", reject), ("--no-ack", no_ack))
        if on
    ]
    if len(chosen) > 1:
        raise BadInput(f"{' and '.join(chosen)} were both given", "choose one acknowledgement mode")
    if requeue:
        return AckMode.requeue
    if reject:
        return AckMode.reject
    return AckMode.no_ack if no_ack else AckMode.ack


consume_app = command_app()
get_app = command_app()


@consume_app.command("consume", help=CONSUME_HELP)
@option_sets
def consume_command(
    connection: ConnectionFlags,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            "-q",
            help="Queue to consume from. Example: --queue orders",
            show_default=False,
        ),
    ] = None,
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange",
            "-e",
            help="Tap this exchange instead of a queue, through a temporary exclusive queue "
            "bound with --binding-key. Example: --exchange amq.topic --binding-key 'order.#'",
            show_default=False,
        ),
    ] = None,
    binding_key: Annotated[
        str, typer.Option("--binding-key", help="Binding key for --exchange. Example: 'order.*'")
    ] = "#",
    count: Annotated[
        int | None,
        typer.Option(
            "--count", "-n", min=1, help="Stop after N messages. Example: -n 10", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            "-t",
            min=0.01,
            help="Stop after S seconds without a message. Example: --timeout 5",
            show_default=False,
        ),
    ] = None,
    prefetch: Annotated[
        int | None,
        typer.Option(
            "--prefetch",
            min=0,
            max=65535,
            help="Unacked messages the broker may send ahead (default 1000; with "
            "--requeue, unlimited). Example: --prefetch 50",
            show_default=False,
        ),
    ] = None,
    offset: Annotated[
        str | None,
        typer.Option(
            "--offset",
            help="Stream queues: where to start: first, last, next, an offset number, an ISO 8601 "
            "time or an interval (30m, 2h, 1D). Example: --offset first",
            show_default=False,
        ),
    ] = None,
    requeue: Requeue = False,
    reject: Reject = False,
    no_ack: Annotated[
        bool,
        typer.Option(
            "--no-ack",
            help="Auto-ack: fastest, but messages in flight on Ctrl-C are lost (with --count, "
            "each is acked on arrival instead). Example: --no-ack",
            rich_help_panel=ACK,
        ),
    ] = False,
    fmt: Format = MessageFormat.pretty,
    body_only: BodyOnly = False,
    reconnect: ReconnectFlag = None,
) -> None:
    from mqctl.messaging.consumer import ConsumeOptions, ConsumeSource, consume, parse_offset

    source = ConsumeSource(
        queue=queue,
        exchange=exchange,
        binding_key=binding_key,
        offset=parse_offset(offset) if offset is not None else None,
    )
    options = ConsumeOptions(
        count=count, timeout=timeout, prefetch=prefetch, ack=ack_mode(requeue, reject, no_ack)
    )
    if requeue and reconnect:
        raise BadInput(
            "--reconnect does not combine with --requeue: a look on a new connection would "
            "show again every message the lost one had shown",
            "look again after the loss instead",
        )
    writer = MessageWriter(fmt, body_only=body_only)
    settings, failover = failover_connection(connection, False if requeue else reconnect)
    if requeue and queue is not None:
        refuse_costly_look(settings, queue, "mqctl consume --requeue")
    try:
        result = consume(settings, source, options, writer, failover)
    finally:
        writer.close()
    report_consume(result, count, source.name)


def refuse_costly_look(settings: ConnectionSettings, queue: str, what: str) -> None:
    """Stop before a look that would count against the queue's delivery limit."""
    from mqctl.messaging.looks import look_cost

    cost = look_cost(settings, queue)
    refusal = cost.refusal(what)
    if refusal is not None:
        raise refusal
    if cost.queue_type is None:
        output.warn(
            f"could not read the type of queue {queue!r} ({cost.unknown_because}): on a quorum "
            "queue with a delivery limit, each look counts as a delivery of every message"
        )


def report_consume(result: ConsumeResult, count: int | None, name: str) -> None:
    from mqctl.messaging.consumer import StopReason

    done = f"{result.written} message(s) written"
    if result.reconnects:
        done += f" across {result.reconnects} reconnection(s)"
    back = f", {result.put_back} put back in the queue" if result.put_back else ""
    lost = f", {result.lost} delivered but not written (lost: --no-ack)" if result.lost else ""
    if result.reason is StopReason.interrupted:
        raise Interrupted(f"interrupted ({result.signal or 'Ctrl-C'}): {done}{back}{lost}")
    if result.reason in (StopReason.output_closed, StopReason.output_error):
        what = (
            "the output was closed"
            if result.reason is StopReason.output_closed
            else (f"writing the output failed ({result.output_error})")
        )
        raise OperationFailed(f"{what}: {done}{back}{lost}", "nothing unwritten was acked")
    if result.reason is StopReason.timeout and count is not None and result.written < count:
        raise OperationFailed(
            f"timed out waiting for messages on {name}: {result.written} of {count} written{back}",
            "raise --timeout, or check that messages reach the queue",
        )


@get_app.command("get", help=GET_HELP)
@option_sets
def get_command(
    connection: ConnectionFlags,
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="Queue to get from. Example: --queue orders")
    ],
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, help="Get up to N messages. Example: -n 5")
    ] = 1,
    requeue: Requeue = False,
    reject: Reject = False,
    fmt: Format = MessageFormat.pretty,
    body_only: BodyOnly = False,
) -> None:
    from mqctl.messaging.consumer import get_messages

    mode = ack_mode(requeue, reject)
    writer = MessageWriter(fmt, body_only=body_only)
    settings = connection.settings()
    if requeue:
        refuse_costly_look(settings, queue, "mqctl get --requeue")
    try:
        result = get_messages(settings, queue, count, mode, writer)
    finally:
        writer.close()
    if result.signal is not None:
        raise Interrupted(
            f"interrupted ({result.signal}): {result.written} message(s) written, "
            f"{result.put_back} put back in the queue"
        )
    if result.output_error is not None:
        what = (
            "the output was closed"
            if result.output_error.broken_pipe
            else (f"writing the output failed ({result.output_error.cause})")
        )
        raise OperationFailed(
            f"{what}: {result.written} message(s) written, {result.put_back} put back in the queue"
        )
    if result.delivered == 0:
        output.info(f"queue {queue!r} is empty")

"""`mqctl move QUEUE`: move (or replay) messages, each acked at the source only once the
destination confirmed it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mqctl import output
from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app
from mqctl.errors import Interrupted, OperationFailed

if TYPE_CHECKING:
    from mqctl.messaging.move import MoveResult

# mqctl.messaging.move (and pika with it) is imported inside the command, not here: the
# command tree is built at every start and every completion TAB.

DESTINATION = "Destination (exactly one)"

MOVE_HELP = (
    "Move messages out of QUEUE: to a queue, to an exchange, or each back to where it was "
    "dead-lettered from.\n\n"
    "Each message is acked in QUEUE only after the destination confirmed its copy (publisher "
    "confirms, mandatory): a copy the destination returns as unroutable, nacks or does not "
    "confirm leaves the original in QUEUE. Ctrl-C, SIGTERM or a lost connection leave every "
    "message in QUEUE or at the destination (at least once: after a lost connection some may "
    "be in both). Properties and headers go across byte for byte.\n\n"
    "The last line says `moved N` and how many stayed, per reason. Exit status 0 when every "
    "message asked for moved, 1 when some stayed, 130 on Ctrl-C or SIGTERM.\n\n"
    "Example: mqctl move orders.dlq --to-origin --dry-run"
)

app = command_app()


@app.command("move", help=MOVE_HELP)
@option_sets
def move_command(
    connection: ConnectionFlags,
    queue: Annotated[
        str, typer.Argument(help="The queue to take messages from. Example: orders.dlq")
    ],
    to_queue: Annotated[
        str | None,
        typer.Option(
            "--to-queue",
            help="Into this queue (through the default exchange). Example: --to-queue orders",
            rich_help_panel=DESTINATION,
            show_default=False,
        ),
    ] = None,
    to_exchange: Annotated[
        str | None,
        typer.Option(
            "--to-exchange",
            help="To this exchange, with each message's own routing key unless --routing-key. "
            "Example: --to-exchange orders",
            rich_help_panel=DESTINATION,
            show_default=False,
        ),
    ] = None,
    routing_key: Annotated[
        str | None,
        typer.Option(
            "--routing-key",
            "-k",
            help="With --to-exchange: this routing key for every message. Example: -k order.new",
            rich_help_panel=DESTINATION,
            show_default=False,
        ),
    ] = None,
    to_origin: Annotated[
        bool,
        typer.Option(
            "--to-origin",
            help="Each message to the exchange and routing key of its first x-death entry "
            "(where it was published before it was dead-lettered). mqctl routes by the header "
            "itself (RabbitMQ 4.x no longer reads x-death from publishers) and sends the header "
            "along unchanged. A message without x-death stays. Example: --to-origin",
            rich_help_panel=DESTINATION,
        ),
    ] = False,
    to_url: Annotated[
        str | None,
        typer.Option(
            "--to-url",
            help="The destination is on this broker (AMQP URI, vhost in the path); default: "
            "the source's. For amqps, the TLS options given for the source (--ca-cert, "
            "--client-cert, --client-key, --insecure) hold for it too. "
            "Example: --to-url amqp://user@other-host/%2f",
            rich_help_panel=DESTINATION,
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            "-n",
            min=1,
            help="At most N messages (default: what QUEUE holds when the move starts). "
            "Example: -n 100",
            show_default=False,
        ),
    ] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(
            "--match",
            help="Only messages whose routing_key, property or headers.KEY has this value "
            "(repeatable: all must hold); the others stay. Example: --match headers.x-tenant=acme",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show what would go where and move nothing (each message is delivered and put "
            "back: a look, with what a look costs on the queue's type). Example: --dry-run",
        ),
    ] = False,
    prefetch: Annotated[
        int,
        typer.Option(
            "--prefetch",
            min=1,
            max=65535,
            help="Messages in flight at once (deliveries, and confirms). Example: --prefetch 200",
        ),
    ] = 1000,
) -> None:
    from dataclasses import replace

    from mqctl.config import ConnectionOptions, resolve
    from mqctl.messaging.match import MessageMatch
    from mqctl.messaging.move import Destination, MoveOptions, move

    settings = connection.settings()
    other = None
    if to_url is not None:
        # One set of TLS options for both ends (checked already, for the source): a second
        # broker of the same deployment is signed by the same CA, and a flag given once must
        # not be silently ignored.
        other = replace(resolve(ConnectionOptions(url=to_url), env={}), tls=settings.tls)
    destination = Destination(
        queue=to_queue,
        exchange=to_exchange,
        routing_key=routing_key,
        origin=to_origin,
        settings=other,
    )
    options = MoveOptions(
        count=count, dry_run=dry_run, window=prefetch, match=MessageMatch.parse(match or [])
    )
    destination.validate(queue, same_broker=other is None)
    if to_origin and not dry_run:
        output.info("--to-origin: each x-death header goes along unchanged, like every header")
    with output.progress(None, "moving") as advance:
        result = move(settings, queue, destination, options, progress=advance)
    report_move(result)


def report_move(result: MoveResult) -> None:
    if result.error is not None and not result.taken:
        raise result.error  # nothing was taken: the error alone says it all
    if result.dry_run:
        for (exchange, key), n in sorted(result.routes.items()):
            typer.echo(f"{n:8d}  to exchange {exchange!r} with routing key {key!r}")
    typer.echo(summary_line(result))
    if result.error is not None:
        result.error.message += f" ({summary_line(result)})"
        raise result.error
    if result.interrupted:
        raise Interrupted(f"interrupted ({result.signal or 'Ctrl-C'}): {summary_line(result)}")
    if not result.complete:
        raise OperationFailed(
            f"{result.left_total} of {result.asked} message(s) stayed in queue {result.queue!r}",
            "nothing was lost: see the reasons above",
        )


def summary_line(result: MoveResult) -> str:
    """The last line: moved N, and what stayed in the source and why."""
    from mqctl.messaging.move import Left

    if result.dry_run:
        head = f"moved 0 (dry run: {result.moved} of {result.asked} would move)"
    else:
        head = f"moved {result.moved} of {result.asked}"
    reasons = []
    for why, n in sorted(result.left.items(), key=lambda item: item[0].value):
        text = f"{why.value} {n}"
        if why is Left.returned and result.returned_texts:
            text += " (" + ", ".join(f"{t}: {k}" for t, k in result.returned_texts.items()) + ")"
        reasons.append(text)
    if result.not_matching:
        reasons.append(f"not matching {result.not_matching}")
    parts = [head]
    if reasons:
        verb = "would stay" if result.dry_run else "left"
        parts.append(f"{verb} in {result.queue!r}: " + ", ".join(reasons))
    if result.drained_early:
        parts.append("the queue ran dry before that (other consumers or expiry)")
    if result.maybe_duplicated:
        parts.append(f"{result.maybe_duplicated} of those left may also be at the destination")
    if result.source_lost:
        parts.append(
            f"the source connection broke: up to {result.window} of the moved may also still "
            f"be in {result.queue!r}"
        )
    return "; ".join(parts)

"""`mqctl declare|delete queue|exchange|binding` and `mqctl purge queue`: one object at a time,
with the topology files' validation and plan (see mqctl.operate.changes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app

declare_app = command_app(
    name="declare",
    no_args_is_help=True,
    help="Create one queue, exchange or binding; nothing changes if it exists as asked, and one "
    "that exists with other properties is refused (exit 1).",
)
delete_app = command_app(
    name="delete", no_args_is_help=True, help="Delete one queue, exchange or binding."
)
purge_app = command_app(
    name="purge", no_args_is_help=True, help="Remove every ready message from a queue."
)


@purge_app.callback()
def purge_group() -> None:
    """Remove every ready message from a queue."""  # a group: `mqctl purge queue NAME`


class QueueType(StrEnum):
    classic = "classic"
    quorum = "quorum"
    stream = "stream"


Arguments = Annotated[
    list[str] | None,
    typer.Option(
        "--argument",
        help="x-argument KEY=VALUE, repeatable; VALUE is read as JSON when it parses (60000, "
        "true), else as text; KEY:string=VALUE keeps it text. Example: --argument x-message-ttl=60000",
        show_default=False,
    ),
]
FromExchange = Annotated[
    str,
    typer.Option("--from", help="The source exchange. Example: --from orders", show_default=False),
]
ToQueue = Annotated[
    str | None,
    typer.Option(
        "--to-queue", help="The destination queue. Example: --to-queue billing", show_default=False
    ),
]
ToExchange = Annotated[
    str | None,
    typer.Option(
        "--to-exchange",
        help="The destination exchange. Example: --to-exchange audit",
        show_default=False,
    ),
]
QueueName = Annotated[
    str, typer.Argument(help="The queue's name. Example: orders.retry", show_default=False)
]
RoutingKey = Annotated[
    str, typer.Option("--routing-key", "-k", help="The binding key. Example: -k 'order.#'")
]


def _say(result: object) -> None:
    from mqctl import output

    output.write_text(result.sentence())  # type: ignore[attr-defined]


@declare_app.command("queue", epilog="Example: mqctl declare queue orders --type quorum")
@option_sets
def declare_queue(
    connection: ConnectionFlags,
    queue: QueueName,
    queue_type: Annotated[
        QueueType | None,
        typer.Option(
            "--type", help="classic, quorum or stream [default: classic]", show_default=False
        ),
    ] = None,
    durable: Annotated[
        bool | None,
        typer.Option("--durable/--no-durable", help="[default: durable]", show_default=False),
    ] = None,
    argument: Arguments = None,
) -> None:
    """Declare a queue (idempotent)."""
    from mqctl.management import ManagementClient
    from mqctl.operate.changes import declare, parse_arguments, queue_document

    settings = connection.settings()
    document = queue_document(
        settings.vhost,
        queue,
        queue_type=queue_type.value if queue_type else None,
        durable=durable,
        arguments=parse_arguments(argument or []),
    )
    with ManagementClient(settings) as client:
        _say(declare(client, document))


@declare_app.command("exchange", epilog="Example: mqctl declare exchange orders --type topic")
@option_sets
def declare_exchange(
    connection: ConnectionFlags,
    exchange: Annotated[
        str, typer.Argument(help="The exchange's name. Example: orders", show_default=False)
    ],
    exchange_type: Annotated[
        str,
        typer.Option(
            "--type",
            help="direct, fanout, topic, headers, or a plugin's x-... type. Example: --type topic",
            show_default=False,
        ),
    ],
    durable: Annotated[
        bool | None,
        typer.Option("--durable/--no-durable", help="[default: durable]", show_default=False),
    ] = None,
    argument: Arguments = None,
) -> None:
    """Declare an exchange (idempotent)."""
    from mqctl.management import ManagementClient
    from mqctl.operate.changes import declare, exchange_document, parse_arguments

    settings = connection.settings()
    document = exchange_document(
        settings.vhost,
        exchange,
        exchange_type,
        durable=durable,
        arguments=parse_arguments(argument or []),
    )
    with ManagementClient(settings) as client:
        _say(declare(client, document))


@declare_app.command(
    "binding", epilog="Example: mqctl declare binding --from orders --to-queue billing -k 'order.#'"
)
@option_sets
def declare_binding(
    connection: ConnectionFlags,
    source: FromExchange,
    to_queue: ToQueue = None,
    to_exchange: ToExchange = None,
    routing_key: RoutingKey = "",
    argument: Arguments = None,
) -> None:
    """Bind an exchange to a queue or to another exchange (idempotent)."""
    from mqctl.management import ManagementClient
    from mqctl.operate.changes import binding_document, declare, parse_arguments

    settings = connection.settings()
    document = binding_document(
        settings.vhost,
        source,
        to_queue=to_queue,
        to_exchange=to_exchange,
        routing_key=routing_key,
        arguments=parse_arguments(argument or []),
    )
    with ManagementClient(settings) as client:
        _say(declare(client, document))


@delete_app.command("queue", epilog="Example: mqctl delete queue orders.tmp --if-unused")
@option_sets
def delete_queue(
    connection: ConnectionFlags,
    queue: QueueName,
    allow_data_loss: Annotated[
        bool,
        typer.Option(
            "--allow-data-loss",
            help="Delete it even though it holds messages (they are lost). Without it, a queue "
            "holding messages is refused (exit 1).",
        ),
    ] = False,
    if_unused: Annotated[
        bool, typer.Option("--if-unused", help="Refuse when it has consumers (exit 1).")
    ] = False,
) -> None:
    """Delete a queue; one holding messages only with --allow-data-loss. A queue that does not exist is no error (exit 0)."""
    from mqctl.management import ManagementClient
    from mqctl.operate.removal import delete_queue as delete

    settings = connection.settings()
    with ManagementClient(settings) as client:
        _say(
            delete(
                client, settings.vhost, queue, allow_data_loss=allow_data_loss, if_unused=if_unused
            )
        )


@delete_app.command("exchange", epilog="Example: mqctl delete exchange orders.old --if-unused")
@option_sets
def delete_exchange(
    connection: ConnectionFlags,
    exchange: Annotated[
        str, typer.Argument(help="The exchange's name. Example: orders", show_default=False)
    ],
    if_unused: Annotated[
        bool, typer.Option("--if-unused", help="Refuse when it has bindings (exit 1).")
    ] = False,
) -> None:
    """Delete an exchange (never the default exchange or amq.*)."""
    from mqctl.management import ManagementClient
    from mqctl.operate.removal import delete_exchange as delete

    settings = connection.settings()
    with ManagementClient(settings) as client:
        _say(delete(client, settings.vhost, exchange, if_unused=if_unused))


@delete_app.command(
    "binding", epilog="Example: mqctl delete binding --from orders --to-queue billing -k 'order.#'"
)
@option_sets
def delete_binding(
    connection: ConnectionFlags,
    source: FromExchange,
    to_queue: ToQueue = None,
    to_exchange: ToExchange = None,
    routing_key: RoutingKey = "",
    argument: Arguments = None,
) -> None:
    """Remove the binding with exactly this routing key and these arguments."""
    from mqctl.management import ManagementClient
    from mqctl.operate.changes import binding_document, parse_arguments
    from mqctl.operate.removal import delete_binding as delete

    settings = connection.settings()
    document = binding_document(
        settings.vhost,
        source,
        to_queue=to_queue,
        to_exchange=to_exchange,
        routing_key=routing_key,
        arguments=parse_arguments(argument or []),
    )
    with ManagementClient(settings) as client:
        _say(delete(client, document))


@purge_app.command("queue", epilog="Example: mqctl purge queue orders.retry")
@option_sets
def purge_queue(
    connection: ConnectionFlags,
    queue: QueueName,
) -> None:
    """Remove every ready message from a queue and say how many went (unacknowledged ones stay with their consumers)."""
    from mqctl.operate.removal import purge_queue as purge

    settings = connection.settings()
    _say(purge(settings, settings.vhost, queue))

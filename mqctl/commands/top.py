"""`mqctl top`: a live view of queues or connections; `--once` prints one snapshot."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app

app = command_app()

TOP_HELP = (
    "A live view of the broker's queues (or connections): depth, ready, unacked, consumers, "
    "publish/deliver/ack rates and a sparkline of depth, refreshed every --interval seconds. "
    "Queues growing since the last refresh are yellow, queues holding messages without a "
    "consumer red; alarms show above the table.\n\n"
    "Keys: q quit, c queues/connections, s next sort column, r reverse, / filter (a glob; "
    "Enter applies, Esc cancels), space refresh now.\n\n"
    "Each refresh asks the broker for one page, sorted and filtered by the broker: the top "
    "--limit whatever the broker's size. Every vhost unless --vhost is given."
)


@app.command("top", help=TOP_HELP, epilog="Example: mqctl top --sort messages_unacknowledged")
@option_sets
def top_command(
    connection: ConnectionFlags,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    connections: Annotated[
        bool, typer.Option("--connections", help="Start on the connections view.")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between refreshes. Example: --interval 2", min=0.5)
    ] = 5.0,
    limit: Annotated[
        int, typer.Option(help="Rows shown (1-500). Example: --limit 20", min=1, max=500)
    ] = 40,
    sort: Annotated[
        str | None,
        typer.Option(
            help="Sort column, -COL descending [default: -messages; connections: "
            "-recv_oct_details.rate]. Example: --sort=-consumers",
            show_default=False,
        ),
    ] = None,
    name_filter: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="Only names matching this glob. Example: --filter 'orders.*'",
            show_default=False,
        ),
    ] = None,
) -> None:
    from mqctl.management import LIST_TIMEOUT, ManagementClient
    from mqctl.operate.columns import LABELS
    from mqctl.operate.listing import SortKey
    from mqctl.operate.top import VIEWS, LiveTop, TopState, cell, take_snapshot
    from mqctl.output import top as output_top

    settings = connection.settings()
    vhosts = connection.vhosts()
    view = "connections" if connections else "queues"
    key = SortKey.parse(sort) if sort else SortKey(VIEWS[view].sorts[0], True)
    state = TopState(
        view=view,
        sort=key.column,
        descending=key.descending,
        pattern=name_filter,
        vhost=vhosts[0] if vhosts else None,
        limit=limit,
        interval=interval,
    )
    with ManagementClient(settings, timeout=LIST_TIMEOUT) as client:
        if once:
            output_top.print_snapshot(take_snapshot(client, state), LABELS, cell)
            return
        output_top.run_live(LiveTop(client, state), LABELS, cell)

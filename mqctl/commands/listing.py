"""`mqctl list KIND`: the broker's objects as a table, tsv, json, jsonl or yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app
from mqctl.output import ListFormat

app = command_app()

FormatOption = Annotated[
    ListFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="table (the default on a terminal), tsv with a header line (the default into a pipe "
        "or file), json (one array), jsonl (one object a line) or yaml. json, jsonl and yaml "
        "keep the management API's field names and nesting. Example: --format jsonl",
        show_default=False,
    ),
]
AllVhosts = Annotated[
    bool,
    typer.Option("--all-vhosts", help="Every vhost instead of the connection's (--vhost)."),
]

LIST_HELP = (
    "List the broker's objects of one KIND: queues, exchanges, bindings, connections, channels, "
    "consumers, vhosts, users, permissions, policies, nodes, feature-flags, deprecated-features."
    "\n\n"
    "Read through the management API in one streamed answer (bounded memory for any number of "
    "objects), or page by page with --page-size. Sorting is the broker's (rows keep streaming); "
    "feature-flags and deprecated-features, short lists the API does not sort, are sorted in "
    "memory."
)


@app.command(
    "list",
    help=LIST_HELP,
    epilog="Example: mqctl list queues --vhost orders --sort -messages --filter 'orders.*'",
)
@option_sets
def list_command(
    connection: ConnectionFlags,
    kind: Annotated[str, typer.Argument(help="What to list. Example: queues", show_default=False)],
    all_vhosts: AllVhosts = False,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated fields, dotted for nested ones, or `all`. Defaults per kind "
            "(queues: vhost, name, type, state, messages, ready, unacked, consumers and the "
            "publish, deliver and ack rates). "
            "Example: --columns name,messages,message_stats.publish_details.rate",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help="Sort by a column, -COL for descending; a field the rows lack and the kind does "
            "not have is refused (status 4). Example: --sort=-messages",
            show_default=False,
        ),
    ] = None,
    name_filter: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="Only objects whose name matches this glob (*, ?, [abc]; the whole name, case "
            "matters), or with --regex this Python regular expression (searched anywhere). "
            "Bindings match on source or destination, consumers on queue or tag, connections "
            "on name, connection_name or user. Example: --filter 'orders.*'",
            show_default=False,
        ),
    ] = None,
    regex: Annotated[
        bool, typer.Option("--regex", help="--filter is a regular expression, not a glob.")
    ] = False,
    output_format: FormatOption = None,
    page_size: Annotated[
        int | None,
        typer.Option(
            help="Use the API's pagination, this many objects a page (1-500). Each answer stays "
            "small, but the broker builds the whole list for every page: slower for long lists "
            "(see README). Example: --page-size 500",
            show_default=False,
        ),
    ] = None,
    used: Annotated[
        bool, typer.Option("--used", help="deprecated-features: only those in use.")
    ] = False,
) -> None:
    from mqctl import output
    from mqctl.management import LIST_TIMEOUT, ManagementClient
    from mqctl.operate.columns import LABELS, parse_columns, reader
    from mqctl.operate.listing import ListRequest, NameFilter, SortKey, kind_named, list_objects

    spec = kind_named(kind)
    settings = connection.settings()
    vhost = _scope(connection, settings.vhost, all_vhosts)
    request = ListRequest(
        kind=spec.name,
        vhost=vhost,
        columns=parse_columns(columns, spec.columns),
        sort=SortKey.parse(sort) if sort else None,
        name_filter=NameFilter(name_filter, regex) if name_filter is not None else None,
        page_size=page_size,
        used_only=used,
    )
    fmt = output_format or output.default_list_format()
    with ManagementClient(settings, timeout=LIST_TIMEOUT) as client:
        listing = list_objects(client, request)
        output.emit_listing(listing.rows, fmt, listing.columns, reader, LABELS)


def _scope(connection: ConnectionFlags, default: str, all_vhosts: bool) -> str | None:
    from mqctl.errors import BadInput

    if all_vhosts and connection.vhosts():
        raise BadInput("--vhost and --all-vhosts were both given", "choose one")
    return None if all_vhosts else default

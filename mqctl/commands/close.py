"""`mqctl close connection NAME | --user U`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app

app = command_app(
    name="close",
    no_args_is_help=True,
    help="Close client connections; the broker tells each client the reason.",
)


@app.callback()
def close_group() -> None:
    """Close client connections; the broker tells each client the reason."""  # a group


@app.command(
    "connection",
    epilog="Example: mqctl close connection '127.0.0.1:50312 -> 127.0.0.1:5672' --reason 'maintenance'",
)
@option_sets
def close_connection(
    connection: ConnectionFlags,
    connection_name: Annotated[
        str | None,
        typer.Argument(
            help="The connection's name as `mqctl list connections` shows it.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Close every connection of this user. Example: --user batch-jobs",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="What the clients are told (in the connection.close). Example: --reason 'node maintenance'",
        ),
    ] = "closed by an operator (mqctl close connection)",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be closed; close nothing.")
    ] = False,
) -> None:
    """Close one connection by name, or all of a user's."""
    from mqctl import output
    from mqctl.management import ManagementClient
    from mqctl.operate.connections import CloseRequest, close_connections
    from mqctl.operate.removal import require_vhost

    request = CloseRequest(name=connection_name, user=user, reason=reason, dry_run=dry_run)
    settings = connection.settings()
    with ManagementClient(settings) as client:
        require_vhost(client, settings.vhost)  # the connection's vhost, as every command checks it
        result = close_connections(client, request)
    for item in result.connections:
        label = f" ({item['connection_name']})" if item.get("connection_name") else ""
        output.write_text(f"{item['name']}{label} user {item['user']} vhost {item['vhost']}")
    output.write_text(result.sentence())

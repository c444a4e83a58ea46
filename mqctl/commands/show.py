"""`mqctl show overview` and `mqctl show queue NAME`."""

from __future__ import annotations

from mqctl.commands.changes import QueueName
from mqctl.commands.listing import FormatOption
from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app

app = command_app(
    name="show",
    no_args_is_help=True,
    help="Show one thing in full: the broker's overview, or one queue.",
)


@app.command(
    "overview",
    help="Version, cluster name, nodes, object and message totals, rates and alarms.",
    epilog="Example: mqctl show overview --format json",
)
@option_sets
def show_overview(connection: ConnectionFlags, output_format: FormatOption = None) -> None:
    from mqctl import output
    from mqctl.management import LIST_TIMEOUT, ManagementClient
    from mqctl.operate.show import OVERVIEW_SECTIONS, overview

    with ManagementClient(connection.settings(), timeout=LIST_TIMEOUT) as client:
        record = overview(client)
    output.emit_record(record, output_format or output.default_list_format(), OVERVIEW_SECTIONS)


@app.command(
    "queue",
    help="Everything about one queue: its fields, bindings, the policy in effect, consumers, and "
    "for quorum queues and streams the members, the leader and the members online.",
    epilog="Example: mqctl show queue orders --vhost shop",
)
@option_sets
def show_queue(
    connection: ConnectionFlags,
    queue: QueueName,
    output_format: FormatOption = None,
) -> None:
    from mqctl import output
    from mqctl.management import LIST_TIMEOUT, ManagementClient
    from mqctl.operate.show import QUEUE_SECTIONS, queue_details

    settings = connection.settings()
    with ManagementClient(settings, timeout=LIST_TIMEOUT) as client:
        record = queue_details(client, settings.vhost, queue)
    output.emit_record(record, output_format or output.default_list_format(), QUEUE_SECTIONS)

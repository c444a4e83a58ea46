"""`mqctl health [CHECK ...]`: exit statuses as Nagios reads them (see mqctl.operate.health)."""

from __future__ import annotations

from typing import Annotated

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app

app = command_app()

HEALTH_HELP = (
    "Check the broker: alarms (cluster-wide), local-alarms, quorum-critical, "
    "deprecated-features, listeners, vhosts, certificates; all of them unless CHECKs are named. "
    "Thresholds on queues (--max-messages, --max-unacked, --min-consumers) judge every matching "
    "queue; given alone, only they run.\n\n"
    "Exit statuses are Nagios's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the worst result wins; "
    "CRITICAL over UNKNOWN). mqctl's own 3 (broker unreachable) is also UNKNOWN to Nagios, and "
    "mqctl's 4 (bad input) is read by Nagios as UNKNOWN too. One line per failing check; "
    "--verbose shows every check."
)
THRESHOLD = (
    "[GLOB=]LIMIT or [GLOB=]WARN,CRIT, repeatable; GLOB on queue names, default every queue."
)


@app.command(
    "health",
    help=HEALTH_HELP,
    epilog="Example: mqctl health alarms listeners; mqctl health --max-messages 'orders.*=1000,5000'",
)
@option_sets
def health_command(
    connection: ConnectionFlags,
    checks: Annotated[
        list[str] | None,
        typer.Argument(
            help="Checks to run [default: all]. Example: alarms listeners", show_default=False
        ),
    ] = None,
    max_messages: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Most messages a queue may hold: {THRESHOLD} Example: --max-messages 'orders.*=1000,5000'",
            show_default=False,
        ),
    ] = None,
    max_unacked: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Most unacknowledged messages: {THRESHOLD} Example: --max-unacked 500",
            show_default=False,
        ),
    ] = None,
    min_consumers: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Fewest consumers (below WARN: WARNING, below CRIT: CRITICAL): {THRESHOLD} "
            "Example: --min-consumers 'orders.*=2,1'",
            show_default=False,
        ),
    ] = None,
    certificate_days: Annotated[
        int,
        typer.Option(
            help="certificates: CRITICAL when one expires within this many days. Example: --certificate-days 14"
        ),
    ] = 30,
    all_vhosts: Annotated[
        bool, typer.Option("--all-vhosts", help="Thresholds look at every vhost's queues.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="A line for every check.")
    ] = False,
    output_format: Annotated[
        str,
        typer.Option("--format", "-f", help="text or json. Example: --format json"),
    ] = "text",
) -> None:
    from mqctl import output
    from mqctl.errors import BadInput
    from mqctl.management import LIST_TIMEOUT, ManagementClient
    from mqctl.operate.health import HealthSettings, Status, parse_thresholds, run_health

    if output_format not in ("text", "json"):
        raise BadInput(f"--format {output_format!r}: text or json")
    settings = connection.settings()
    health = HealthSettings(
        checks=tuple(checks or ()),
        certificate_days=certificate_days,
        thresholds=parse_thresholds(
            [
                ("max-messages", max_messages or []),
                ("max-unacked", max_unacked or []),
                ("min-consumers", min_consumers or []),
            ]
        ),
        vhost=None if all_vhosts else settings.vhost,
    )
    with ManagementClient(settings, timeout=LIST_TIMEOUT) as client:
        report = run_health(client, health)
    if output_format == "json":
        output.emit_document(report.to_json(), output.OutputFormat.json)
    else:
        shown = report.results if verbose else report.failures
        for result in shown:
            output.write_text(result.line())
        if report.status is Status.OK:
            counted = [r for r in report.results if not r.skipped]
            output.write_text(f"OK: {len(counted)} checks passed")
    raise typer.Exit(int(report.status))

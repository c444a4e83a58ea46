"""`mqctl topology ...`: topology as code (validate, plan, apply, export, delete, show).

Each command parses its options, calls the library in mqctl.topology, and hands the result to a
renderer in mqctl.output.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mqctl import output
from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import command_app
from mqctl.errors import BadInput, ExitStatus
from mqctl.topology.backends import Via

if TYPE_CHECKING:
    from mqctl.topology.apply import PlanOptions
    from mqctl.topology.plan import Plan
    from mqctl.topology.run import Files, Target

# The topology engine (loader, model, plan, graph) is imported inside the commands: this module is
# imported whenever the command tree is built (every start, every completion TAB). Each command
# calls one entry point of mqctl.topology.run (validate: of mqctl.topology.checked, which run names
# too, so that its start-up imports nothing of the broker).

app = command_app(
    name="topology",
    help=(
        "Topology as code: exchanges, queues, bindings, policies, vhosts and users from YAML or "
        "RabbitMQ definitions files, with a field-level plan.\n\n"
        "Example: mqctl topology plan topologies/work-queue.yaml"
    ),
    no_args_is_help=True,
)


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    yaml = "yaml"
    json = "json"
    definitions = "definitions"


class GraphFormat(StrEnum):
    tree = "tree"
    dot = "dot"
    mermaid = "mermaid"


FILES = typer.Argument(
    ...,
    help="Topology files or directories (YAML, or RabbitMQ definitions JSON); they merge. "
    "Example: topologies/ or orders.yaml defs.json",
    show_default=False,
)
VIA = typer.Option(
    Via.auto,
    "--via",
    help="How to reach the broker: http (management API; everything), amqp (pika; exchanges, "
    "queues and bindings only) or auto (http, creating exchanges, queues and bindings over AMQP "
    "when the AMQP URL is shown to reach the same broker: faster than the import). "
    "Example: --via amqp",
)
PRUNE = typer.Option(
    False,
    "--prune",
    help="Also delete objects the files do not declare, only inside the vhosts the files declare "
    "(never amq.* or default objects). Example: --prune --prune-prefix orders.",
)
PRUNE_PREFIX = typer.Option(
    None,
    "--prune-prefix",
    help="With --prune, only delete objects whose names start with this. "
    "Example: --prune-prefix app.",
    metavar="PREFIX",
)
ALLOW_DATA_LOSS = typer.Option(
    False,
    "--allow-data-loss",
    help="Delete queues that hold messages too (refused otherwise: the plan shows what each "
    "queue to be deleted holds). Example: --prune --allow-data-loss",
)
RECREATE = typer.Option(
    False,
    "--recreate",
    help="Recreate a queue in conflict (type, durability, arguments) with its messages and "
    "bindings: they wait in a temporary queue meanwhile; refused while it has consumers. "
    "Example: --recreate",
)
CREATE_VHOSTS = typer.Option(
    False,
    "--create-vhosts",
    help="Create vhosts the objects use but the files do not declare (refused otherwise). "
    "Example: --create-vhosts",
)


def _options(
    prune: bool,
    prune_prefix: str | None,
    create_vhosts: bool,
    recreate: bool = False,
    allow_data_loss: bool = False,
) -> PlanOptions:
    from mqctl.topology.apply import PlanOptions

    return PlanOptions(
        prune=prune,
        prune_prefix=prune_prefix,
        create_vhosts=create_vhosts,
        recreate=recreate,
        allow_data_loss=allow_data_loss,
    )


def _files(paths: list[Path], connection: ConnectionFlags, *, located: bool = False) -> Files:
    """The files; `--vhost` when given once, where a per-vhost definitions export (no `vhost`
    keys) goes; the connection's vhost, where objects of a YAML file without one go. `located`:
    every object placed at its line, JSON files too (see `Files.located`)."""
    from mqctl.topology.run import Files

    vhosts = connection.vhosts()
    return Files(
        paths,
        definitions_vhost=vhosts[0] if len(vhosts) == 1 else None,
        connection_vhost=connection.settings().vhost,
        located=located,
    )


def _target(via: Via, connection: ConnectionFlags) -> Target:
    from mqctl.topology.run import Target

    return Target(connection.settings(), via)


@app.command()
@option_sets
def validate(
    files: list[Path] = FILES,
    target: str | None = typer.Option(
        None,
        "--target",
        metavar="VERSION",
        help="Also check against this RabbitMQ version: what it removed or refuses is an error, "
        "what it deprecates a warning. Example: --target 4.3",
    ),
) -> None:
    """Check topology files offline: every problem at once, with file:line:column.

    Exit 0 when valid, 4 otherwise. Example: mqctl topology validate --target 4.3 topologies/
    """
    from mqctl.topology.checked import Files, validate  # nothing of the broker: start-up
    from mqctl.topology.versions import parse_version

    version = parse_version(target) if target is not None else None
    checked = validate(Files(files), version, _warn)
    topology = checked.topology
    _warn_all(checked.warnings)
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in topology.counts().items())
    output.info(f"valid: {len(topology)} objects ({counts or 'none'})")


@app.command()
@option_sets
def plan(
    connection: ConnectionFlags,
    files: list[Path] = FILES,
    via: Via = VIA,
    prune: bool = PRUNE,
    prune_prefix: str | None = PRUNE_PREFIX,
    create_vhosts: bool = CREATE_VHOSTS,
    allow_data_loss: bool = ALLOW_DATA_LOSS,
    recreate: bool = RECREATE,
    fmt: PlanFormat = typer.Option(
        PlanFormat.text,
        "--format",
        help="text (a coloured diff) or json (for scripts). Example: --format json",
    ),
    show_unchanged: bool = typer.Option(
        False,
        "--show-unchanged",
        help="List unchanged objects too (also in --format json). Example: --show-unchanged",
    ),
) -> int:
    """Show what apply would change, field by field, against the live broker.

    Exit 0 when nothing would change, 2 when something would, 1 on error.
    Example: mqctl topology plan topologies/dead-letter-retry.yaml --format json
    """
    from mqctl.topology import run

    options = _options(prune, prune_prefix, create_vhosts, recreate, allow_data_loss)
    located = fmt == PlanFormat.json  # each change names its file:line:column
    result = run.plan(
        _files(files, connection, located=located), _target(via, connection), options, _warn
    )
    _render_plan(result, fmt, show_unchanged)
    return int(run.plan_status(result))


def _warn(problem: object) -> None:
    output.warn(str(problem))


def _warn_all(warnings: list[str]) -> None:
    for warning in warnings:
        _warn(warning)


def _render_plan(result: Plan, fmt: PlanFormat, show_unchanged: bool) -> None:
    _warn_all(result.warnings)
    if fmt is PlanFormat.json:
        document = result.to_json(with_unchanged=show_unchanged)
        output.emit_document(document, output.OutputFormat.json)
    else:
        output.render_plan(result, show_unchanged=show_unchanged)


@app.command()
@option_sets
def apply(
    connection: ConnectionFlags,
    files: list[Path] = FILES,
    via: Via = VIA,
    prune: bool = PRUNE,
    prune_prefix: str | None = PRUNE_PREFIX,
    create_vhosts: bool = CREATE_VHOSTS,
    allow_data_loss: bool = ALLOW_DATA_LOSS,
    recreate: bool = RECREATE,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only show the plan (same as plan). Example: --dry-run"
    ),
    fmt: PlanFormat = typer.Option(
        PlanFormat.text, "--format", help="text or json. Example: --format json"
    ),
) -> int:
    """Make the broker match the files: idempotent; conflicts refused unless --recreate.

    Example: mqctl topology apply topologies/ --prune --prune-prefix demo.
    """
    from mqctl.topology import run

    options = _options(prune, prune_prefix, create_vhosts, recreate, allow_data_loss)
    outcome = run.apply(
        _files(files, connection),
        _target(via, connection),
        options,
        dry_run=dry_run,
        show_plan=lambda plan: _render_plan(plan, fmt, False),
        progress=lambda: output.progress(None, "applying"),
        warn=_warn,
    )
    if outcome.dry_run:
        return int(outcome.status)
    if outcome.result is None:
        output.info("nothing to change: the broker already matches the files")
        return int(ExitStatus.OK)
    done = outcome.result.done
    redeclared = f", {done['redeclared']} declared again (AMQP)" if done["redeclared"] else ""
    output.info(
        f"applied: {done['created']} created, {done['updated']} updated, "
        f"{done['recreated']} recreated, {done['deleted']} deleted{redeclared}"
    )
    return int(ExitStatus.OK)


@app.command()
@option_sets
def export(
    connection: ConnectionFlags,
    fmt: ExportFormat = typer.Option(
        ExportFormat.yaml,
        "--format",
        help="yaml (mqctl's format), json (the same as JSON) or definitions (RabbitMQ's). "
        "Example: --format definitions",
    ),
    with_users: bool = typer.Option(
        False,
        "--with-users",
        help="Also export the users with permissions in these vhosts, with their password "
        "hashes (never passwords), so that applying the export restores them; keep such a "
        "file as safe as the broker's own definitions. Example: --with-users",
    ),
) -> None:
    """Write the live broker's vhosts as a self-contained topology on stdout.

    Give --vhost several times for several vhosts (default: the connection's vhost). Users are
    left out unless --with-users: their password hashes are then in the file.
    Example: mqctl topology export --vhost orders --vhost billing > live.yaml
    """
    from mqctl.topology import run
    from mqctl.topology.export import to_document

    settings, vhosts = connection.settings_for_vhosts()
    topology = run.export(settings, vhosts, with_users=with_users)
    if fmt is ExportFormat.definitions:
        from mqctl.topology.definitions import to_definitions

        output.emit_document(
            to_definitions(topology, include_users=with_users), output.OutputFormat.json
        )
        return
    document = to_document(topology)
    if fmt is ExportFormat.yaml:
        output.write_text(output.dump_topology_yaml(document))
    else:
        output.emit_document(document, output.OutputFormat.json)


@app.command()
@option_sets
def delete(
    connection: ConnectionFlags,
    files: list[Path] = FILES,
    via: Via = VIA,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask; for scripts. Example: --yes"),
    allow_data_loss: bool = ALLOW_DATA_LOSS,
) -> None:
    """Remove from the broker what the files declare (shown first; asks unless --yes).

    Example: mqctl topology delete topologies/pubsub-fanout.yaml --yes
    """
    from mqctl.topology import run

    def confirm(_plan: Plan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise BadInput("delete needs confirmation", "run it in a terminal, or add --yes")
        return typer.confirm("Delete these objects?", default=False)

    outcome = run.delete(
        _files(files, connection),
        _target(via, connection),
        show_plan=output.render_plan,
        confirm=confirm,
        allow_data_loss=allow_data_loss,
    )
    if not outcome.plan.has_changes:
        output.info("nothing to delete: none of the declared objects exist")
        return
    output.info(f"deleted {outcome.deleted} objects")


@app.command()
@option_sets
def show(
    connection: ConnectionFlags,
    files: list[Path] = typer.Argument(
        None, help="Topology files or directories. Example: topologies/", show_default=False
    ),
    live: bool = typer.Option(
        False,
        "--live",
        help="Draw the live broker's vhost instead of files. Example: --live --vhost orders",
    ),
    fmt: GraphFormat = typer.Option(
        GraphFormat.tree,
        "--format",
        help="tree (terminal), dot (Graphviz) or mermaid. Example: --format mermaid",
    ),
) -> None:
    """Draw the routing graph: exchange -> key -> queue or exchange, AE and DLX edges marked.

    Example: mqctl topology show topologies/alternate-exchange.yaml --format dot | dot -Tsvg
    """
    from mqctl.topology import run
    from mqctl.topology.graph import graph_dot, graph_mermaid, graph_tree

    if live == bool(files):
        raise BadInput(
            "give topology files or --live (one of them)",
            "e.g. mqctl topology show topologies/ or --live",
        )
    if live:
        settings, vhosts = connection.settings_for_vhosts()
        source = run.ShowSource(live=settings, vhosts=vhosts)
    else:
        source = run.ShowSource(files=_files(files, connection))
    checked = run.show(source)
    topology = checked.topology
    _warn_all(checked.warnings)
    if fmt is GraphFormat.dot:
        output.write_text(graph_dot(topology))
    elif fmt is GraphFormat.mermaid:
        output.write_text(graph_mermaid(topology))
    else:
        for title, branches in graph_tree(topology):
            output.render_tree(title, branches)

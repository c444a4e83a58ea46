"""An app built only for tests: commands shaped like mqctl's, to prove the completion convention.

The real commands are written in other modules; this app has parameters with the conventional
names (FILE under `topology`, `capture`, `--method`, `--queue`, `--exchange`, `--offset`, a choice)
taking the same option sets, so the convention is tested whatever commands mqctl has today.
Run as `python tests/completion_app.py ...`; it answers `_MQCTL_COMPLETE` like mqctl does.
"""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.completion.protocol import answer_completion_request

app = typer.Typer(name="mqctl", add_completion=False, help="Test app.")
topology = typer.Typer(help="Topology as code.")
app.add_typer(topology, name="topology")


class Via(enum.StrEnum):
    http = "http"
    amqp = "amqp"


@app.callback()
@option_sets
def root(connection: ConnectionFlags) -> None:
    """Test app."""


@topology.command("apply")
@option_sets
def apply(
    connection: ConnectionFlags,
    file: Path = typer.Argument(..., help="Topology file. Example: topology.yaml"),
    via: Via = typer.Option(Via.http, "--via", help="Backend. Example: --via amqp"),
) -> None:
    """Apply. Example: mqctl topology apply topology.yaml"""


@app.command("read")
@option_sets
def read(
    capture: Path = typer.Argument(..., help="Capture file. Example: amqp.pcapng"),
    method: list[str] = typer.Option([], "--method", help="Filter. Example: --method 'Basic.*'"),
    output: Path = typer.Option(None, "--output", help="Where to write. Example: out.txt"),
) -> None:
    """Read. Example: mqctl read amqp.pcapng"""


@app.command("consume")
@option_sets
def consume(
    connection: ConnectionFlags,
    queue: str = typer.Option(None, "--queue", help="Queue. Example: --queue orders"),
    exchange: str = typer.Option(
        None,
        "--exchange",
        help="Tap this exchange instead of a queue, through a temporary exclusive queue bound "
        "with a binding key; a help text long enough to wrap. Example: --exchange amq.topic",
    ),
    offset: str = typer.Option(None, "--offset", help="Stream offset. Example: --offset first"),
) -> None:
    """Consume. Example: mqctl consume --queue orders"""


if __name__ == "__main__":
    status = answer_completion_request(lambda: typer.main.get_command(app))
    raise SystemExit(1 if status is None else status)

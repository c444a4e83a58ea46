"""`mqctl wire ...`: AMQP frames from captures (and, later, live sources).

Thin: options become a `ReadSettings`; `run_read` feeds the capture's records to `render_records`
(the step every source shares).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
import typer

from mqctl import output
from mqctl.commands.common import PlainCommand
from mqctl.errors import OperationFailed
from mqctl.wire.choices import DEFAULT_PORTS, RECORD_TYPES, BodyMode, WireFormat

if TYPE_CHECKING:
    from mqctl.wire.render_records import RenderSettings

# The codec and the capture readers are imported inside the functions that run them: this module
# is imported whenever the command tree is built (every start, every completion TAB).

app = typer.Typer(
    name="wire",
    help=(
        "Decode AMQP 0-9-1 frames from captures (read) and live connections (proxy, sniff): "
        "every frame of every connection, with filters, a detail view, JSON lines and a "
        "summary.\n\n"
        "Example: mqctl wire read capture.pcapng --method 'Basic.*'"
    ),
    no_args_is_help=True,
)


@dataclass(frozen=True)
class ReadSettings:
    capture: str
    ports: tuple[int, ...]
    detect: bool
    render: RenderSettings


def run_read(settings: ReadSettings, writer: output.WireWriter) -> None:
    """Decode the capture and write it; a capture cut off mid-way fails after its output."""
    from mqctl.wire.capture import CaptureError
    from mqctl.wire.pipeline import read_capture
    from mqctl.wire.render_records import render_records

    records = read_capture(settings.capture, settings.ports, settings.detect)
    try:
        render_records(records, settings.render, writer)
    except CaptureError as exc:
        if exc.truncated and records.packets:
            raise OperationFailed(exc.message, exc.hint) from exc
        raise


@app.command("read", cls=PlainCommand)
def read_command(
    capture: str = typer.Argument(
        ...,
        metavar="CAPTURE",
        help="A pcap or pcapng file (gzip is fine), or - for stdin: "
        "tcpdump -U -w - port 5672 | mqctl wire read -",
    ),
    fmt: WireFormat = typer.Option(
        WireFormat.human,
        "--format",
        "-f",
        help="human: one line per frame; jsonl: one JSON object per frame (a stable contract). "
        "Example: --format jsonl | jq .method",
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Add a tree of every argument and property with its AMQP type.",
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="Print counts instead of frames: methods, messages, confirms, acks, returns, errors. "
        "Example: mqctl wire read cap.pcap --summary",
    ),
    channel: list[int] = typer.Option(
        [], "--channel", help="Only frames on this channel (repeatable). Example: --channel 1"
    ),
    method: list[str] = typer.Option(
        [],
        "--method",
        help="Only methods matching this glob, with their content (repeatable). "
        "Example: --method 'Basic.*'",
    ),
    conn: list[int] = typer.Option(
        [], "--conn", help="Only this connection, by its #number (repeatable). Example: --conn 2"
    ),
    frame_type: list[str] = typer.Option(
        [],
        "--type",
        click_type=click.Choice(RECORD_TYPES),
        help=f"Only records of this type (repeatable): {', '.join(RECORD_TYPES)}. "
        "Example: --type method",
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Stop after this many records. Example: --limit 100"
    ),
    port: list[int] = typer.Option(
        list(DEFAULT_PORTS),
        "--port",
        help="TCP ports that carry AMQP (repeatable); other ports are decoded when a connection "
        "starts with an AMQP protocol header. Example: --port 5673",
    ),
    detect: bool = typer.Option(
        True,
        "--detect/--no-detect",
        help="Find AMQP on any port by its protocol header. Example: --no-detect",
    ),
    body: BodyMode = typer.Option(
        BodyMode.preview,
        "--body",
        help="How much of each body to show: none (its size only), preview (the first 64 "
        "characters) or full (all of it; base64 in jsonl). Example: --body full",
    ),
) -> None:
    """Decode and print the AMQP frames of a capture.

    CAPTURE is a pcap or pcapng file (gzip is fine), or - for stdin.

    Example: mqctl wire read capture.pcapng --method 'Basic.*' --channel 1

    Example: tcpdump -i lo -U -w - port 5672 | mqctl wire read -
    """
    from mqctl.wire.filters import RecordFilter
    from mqctl.wire.render_records import RenderSettings

    settings = ReadSettings(
        capture=capture,
        ports=tuple(port),
        detect=detect,
        render=RenderSettings(
            fmt=fmt,
            verbose=verbose,
            summary=summary,
            body=body,
            selection=RecordFilter.build(conn, channel, method, frame_type, limit),
        ),
    )
    run_read(settings, output.WireWriter(sys.stdout, live=capture == "-"))

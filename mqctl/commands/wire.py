"""`mqctl wire ...`: AMQP frames from captures (and, later, live sources).

Thin: options become a `ReadSettings`, `run_read` drives the pipeline, the renderers write.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import typer

from mqctl import output
from mqctl.commands.common import PlainCommand
from mqctl.errors import OperationFailed
from mqctl.wire.filters import RECORD_TYPES, RecordFilter
from mqctl.wire.pcap import CaptureError
from mqctl.wire.pipeline import DEFAULT_PORTS, Record, read_capture
from mqctl.wire.render_human import HumanRenderer
from mqctl.wire.render_jsonl import BodyMode, jsonl_lines
from mqctl.wire.render_summary import summary_lines
from mqctl.wire.summary import SummaryBuilder

app = typer.Typer(
    name="wire",
    help=(
        "Decode AMQP 0-9-1 frames from captures: every frame of every connection, with "
        "filters, a detail view, JSON lines and a summary.\n\n"
        "Example: mqctl wire read capture.pcapng --method 'Basic.*'"
    ),
    no_args_is_help=True,
)


class WireFormat(StrEnum):
    human = "human"
    jsonl = "jsonl"


@dataclass(frozen=True)
class ReadSettings:
    capture: str
    fmt: WireFormat
    verbose: bool
    summary: bool
    body: BodyMode
    ports: tuple[int, ...]
    detect: bool
    selection: RecordFilter


def _counted(records: Iterator[Record], seen: list[int]) -> Iterator[Record]:
    """Counts the records decoded (before filters), to tell partial output from none."""
    for record in records:
        seen[0] += 1
        yield record


def run_read(settings: ReadSettings, writer: output.WireWriter) -> None:
    """Decode the capture and write it; a capture cut off mid-way fails after its output."""
    seen = [0]
    records = _counted(read_capture(settings.capture, settings.ports, settings.detect), seen)
    selected = settings.selection.apply(records)
    try:
        if settings.summary:
            summary = SummaryBuilder().add_all(selected)
            if settings.fmt is WireFormat.jsonl:
                writer.raw(output.dumps_json(summary.as_dict()) + "\n")
            else:
                for line in summary_lines(summary):
                    writer.line(line)
        elif settings.fmt is WireFormat.jsonl:
            _write_jsonl(selected, settings.body, writer)
        else:
            renderer = HumanRenderer(settings.verbose)
            for record in selected:
                for line in renderer.lines(record):
                    writer.line(line)
    except CaptureError as exc:
        writer.flush()
        if exc.truncated and seen[0]:
            raise OperationFailed(exc.message, exc.hint) from exc
        raise
    writer.flush()


def _write_jsonl(records: Iterable[Record], body: BodyMode, writer: output.WireWriter) -> None:
    """JSON lines, written a few hundred at a time (or one by one for a live source)."""
    if writer.live:
        for line in jsonl_lines(records, body):
            writer.raw(line + "\n")
        return
    batch: list[str] = []
    append = batch.append
    try:
        for line in jsonl_lines(records, body):
            append(line)
            if len(batch) >= 500:
                batch.append("")
                writer.raw("\n".join(batch))
                batch.clear()
    finally:  # a capture cut off mid-way: what was decoded is still written
        if batch:
            batch.append("")
            writer.raw("\n".join(batch))


@app.command("read", cls=PlainCommand)
def read_command(
    capture: str = typer.Argument(
        ...,
        metavar="CAPTURE",
        help="A pcap or pcapng file (gzip is fine), or - for stdin: "
        "tcpdump -w - port 5672 | mqctl wire read -",
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
        help="Body in jsonl records: none, preview (first 64 characters) or full (base64). "
        "Example: --body full",
    ),
) -> None:
    """Decode and print the AMQP frames of a capture.

    Example: mqctl wire read capture.pcapng --method 'Basic.*' --channel 1
    """
    settings = ReadSettings(
        capture=capture,
        fmt=fmt,
        verbose=verbose,
        summary=summary,
        body=body,
        ports=tuple(port),
        detect=detect,
        selection=RecordFilter.build(conn, channel, method, frame_type, limit),
    )
    run_read(settings, output.WireWriter(sys.stdout, live=capture == "-"))

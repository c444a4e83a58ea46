"""Records to output in the chosen view: the last step of the pipeline, shared by every source.

`wire read` hands it the records of a capture; `wire proxy` and `wire sniff` hand it their live
records with a `WireWriter(live=True)` (each line flushed as it is written).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mqctl import output
from mqctl.wire.choices import BodyMode, WireFormat
from mqctl.wire.filters import RecordFilter
from mqctl.wire.pipeline import Record
from mqctl.wire.render_jsonl import jsonl_chunks, jsonl_lines


@dataclass(frozen=True)
class RenderSettings:
    """How to show records: the view, its options and which records."""

    fmt: WireFormat = WireFormat.human
    verbose: bool = False
    summary: bool = False
    body: BodyMode = BodyMode.preview
    selection: RecordFilter = field(default_factory=RecordFilter)


def render_records(
    records: Iterable[Record], settings: RenderSettings, writer: output.WireWriter
) -> None:
    """Filter the records and write them in the chosen view (or their summary at the end)."""
    selected = settings.selection.apply(records)
    try:
        if settings.summary:
            from mqctl.wire.render_summary import summary_json, summary_lines
            from mqctl.wire.summary import SummaryBuilder

            summary = SummaryBuilder().add_all(selected)
            if settings.fmt is WireFormat.jsonl:
                writer.raw(summary_json(summary) + "\n")
            else:
                for line in summary_lines(summary):
                    writer.line(line)
        elif settings.fmt is WireFormat.jsonl:
            write_jsonl(selected, settings.body, writer)
        else:
            from mqctl.wire.render_human import HumanRenderer

            renderer = HumanRenderer(settings.verbose, settings.body)
            for record in selected:
                for line in renderer.lines(record):
                    writer.line(line)
    finally:
        writer.flush()


def write_jsonl(records: Iterable[Record], body: BodyMode, writer: output.WireWriter) -> None:
    """JSON lines, written a few hundred at a time (or one by one for a live source); a capture
    cut off mid-way still writes what was decoded before the cut."""
    if writer.live:
        for text in jsonl_lines(records, body):
            writer.raw(text + "\n")
        return
    for chunk in jsonl_chunks(records, body):
        writer.raw_bytes(chunk)

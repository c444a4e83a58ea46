"""`mqctl wire ...`: AMQP frames from captures (and, later, live sources).

Thin: options become a `ReadSettings`; `run_read` feeds the capture's records to `render_records`
(the step every source shares).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from mqctl import output
from mqctl.commands.options import OptionSet, option_sets
from mqctl.commands.registry import command_app
from mqctl.errors import OperationFailed
from mqctl.wire.choices import DEFAULT_PORTS, RECORD_TYPES, BodyMode, RecordType, WireFormat

if TYPE_CHECKING:
    from mqctl.wire.render_records import RenderSettings

# The codec and the capture readers are imported inside the functions that run them: this module
# is imported whenever the command tree is built (every start, every completion TAB).

app = command_app(
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


@dataclass(frozen=True)
class WireOutputFlags(OptionSet):
    """How frames are shown and which: `wire read`, `wire proxy` and `wire sniff` take these."""

    fmt: Annotated[
        WireFormat,
        typer.Option(
            "--format",
            "-f",
            help="human: one line per frame; jsonl: one JSON object per frame (a stable contract). "
            "Example: --format jsonl | jq .method",
        ),
    ] = WireFormat.human
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Add a tree of every argument and property with its AMQP type."
        ),
    ] = False
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Print counts instead of frames: methods, messages, confirms, acks, returns, "
            "errors. Example: mqctl wire read cap.pcap --summary",
        ),
    ] = False
    channel: Annotated[
        list[int] | None,
        typer.Option(
            "--channel", help="Only frames on this channel (repeatable). Example: --channel 1"
        ),
    ] = None
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help="Only methods matching this glob, with their content (repeatable). "
            "Example: --method 'Basic.*'",
        ),
    ] = None
    conn: Annotated[
        list[int] | None,
        typer.Option(
            "--conn", help="Only this connection, by its #number (repeatable). Example: --conn 2"
        ),
    ] = None
    frame_type: Annotated[
        list[RecordType] | None,
        typer.Option(
            "--type",
            help=f"Only records of this type (repeatable): {', '.join(RECORD_TYPES)}. "
            "Example: --type method",
        ),
    ] = None
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Stop after this many records. Example: --limit 100"),
    ] = None
    body: Annotated[
        BodyMode,
        typer.Option(
            "--body",
            help="How much of each body to show: none (its size only), preview (the first 64 "
            "characters) or full (all of it; base64 in jsonl). Example: --body full",
        ),
    ] = BodyMode.preview

    def render_settings(self) -> RenderSettings:
        from mqctl.wire.filters import RecordFilter
        from mqctl.wire.render_records import RenderSettings

        return RenderSettings(
            fmt=self.fmt,
            verbose=self.verbose,
            summary=self.summary,
            body=self.body,
            selection=RecordFilter.build(
                list(self.conn or ()),
                list(self.channel or ()),
                list(self.method or ()),
                [str(kind) for kind in self.frame_type or ()],
                self.limit,
            ),
        )


@app.command("read")
@option_sets
def read_command(
    capture: Annotated[
        str,
        typer.Argument(
            metavar="CAPTURE",
            help="A pcap or pcapng file (gzip is fine), or - for stdin: "
            "tcpdump -U -w - port 5672 | mqctl wire read -",
        ),
    ],
    shown: WireOutputFlags,
    port: Annotated[
        list[int] | None,
        typer.Option(
            "--port",
            help="TCP ports that carry AMQP (repeatable); other ports are decoded when a "
            "connection starts with an AMQP protocol header. [default: 5672, 5671] "
            "Example: --port 5673",
            show_default=False,
        ),
    ] = None,
    detect: Annotated[
        bool,
        typer.Option(
            "--detect/--no-detect",
            help="Find AMQP on any port by its protocol header. Example: --no-detect",
        ),
    ] = True,
) -> None:
    """Decode and print the AMQP frames of a capture.

    CAPTURE is a pcap or pcapng file (gzip is fine), or - for stdin.

    Example: mqctl wire read capture.pcapng --method 'Basic.*' --channel 1

    Example: tcpdump -i lo -U -w - port 5672 | mqctl wire read -
    """
    settings = ReadSettings(
        capture=capture,
        ports=tuple(port or DEFAULT_PORTS),
        detect=detect,
        render=shown.render_settings(),
    )
    run_read(settings, output.WireWriter(sys.stdout, live=capture == "-"))

"""The only module that talks to rich: tables, json/jsonl/yaml, diagnostics, progress.

Data goes to stdout; progress and diagnostics to stderr. No ANSI codes when the stream is not a
terminal or NO_COLOR is set. Diagnostics are scrubbed of secrets; data is written exactly.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, Protocol, TextIO

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from mqctl.jsonvalues import to_json
from mqctl.redact import scrub


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"


def color_enabled(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _console(stream: TextIO) -> Console:
    color = color_enabled(stream)
    return Console(
        file=stream,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        emoji=False,
    )


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


# --- diagnostics (stderr) -------------------------------------------------------------------


def info(message: str) -> None:
    stderr_console().print(Text(scrub(message)))


def warn(message: str) -> None:
    stderr_console().print(Text(f"warning: {scrub(message)}", style="yellow"))


def error_line(message: str) -> None:
    """The one line the error boundary prints."""
    stderr_console().print(Text(f"mqctl: error: {scrub(message)}", style="bold red"))


# --- data (stdout) --------------------------------------------------------------------------


def dumps_json(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(to_json(value), indent=indent, ensure_ascii=False)


def write_json_line(record: Any, stream: TextIO | None = None) -> None:
    """One JSON object per line, flushed at once so that `| jq` works live."""
    out = stream or sys.stdout
    out.write(dumps_json(record) + "\n")
    out.flush()


def emit_document(value: Any, fmt: OutputFormat) -> None:
    """A single document (an export, a plan) as json or yaml; jsonl writes it as one line."""
    if fmt is OutputFormat.yaml:
        sys.stdout.write(dump_yaml(value))
    elif fmt is OutputFormat.jsonl:
        write_json_line(value)
    else:
        sys.stdout.write(dumps_json(value, indent=2) + "\n")
    sys.stdout.flush()


def dump_yaml(value: Any) -> str:
    return yaml.safe_dump(to_json(value), sort_keys=False, allow_unicode=True, width=100)


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """A list of records in any format; `columns` picks and orders the table's columns."""
    if fmt is OutputFormat.table:
        cols = list(columns or (rows[0].keys() if rows else []))
        table = Table(title=title, show_lines=False, header_style="bold")
        for col in cols:
            table.add_column(col)
        for row in rows:
            table.add_row(*(_cell(row.get(col)) for col in cols))
        stdout_console().print(table)
    elif fmt is OutputFormat.jsonl:
        for row in rows:
            write_json_line(row)
    else:
        emit_document(list(rows), fmt)


def _cell(value: Any) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, str):
        return Text(value)
    return Text(dumps_json(value))


# --- progress (stderr, terminals only) ------------------------------------------------------


class Advance(Protocol):
    def __call__(self, steps: int = 1) -> None: ...


@contextmanager
def progress(total: int | None, description: str) -> Iterator[Advance]:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    if not color_enabled(sys.stderr):

        def silent(steps: int = 1) -> None:
            return None

        yield silent
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance


# --- the wire views (mqctl wire read / proxy / sniff) ---------------------------------------

WIRE_CONN_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_magenta", "bright_cyan")


def wire_conn_style(conn_id: int) -> str:
    """The colour of a connection in the wire views (one per connection, cycling)."""
    return WIRE_CONN_STYLES[(conn_id - 1) % len(WIRE_CONN_STYLES)]


class WireWriter:
    """Writes the wire views' lines as (text, style) parts: styled on a terminal, plain otherwise.

    Plain output skips rich entirely: a capture can hold hundreds of thousands of frames.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.live = live  # flush every line (live sources piped into jq, less, ...)
        self._console = _console(self.stream) if color_enabled(self.stream) else None

    def line(self, parts: Sequence[tuple[str, str | None]]) -> None:
        if self._console is None:
            self.stream.write("".join(text for text, _style in parts) + "\n")
            if self.live:
                self.stream.flush()
            return
        text = Text()
        for chunk, style in parts:
            text.append(chunk, style=style or "")
        self._console.print(text, soft_wrap=True)

    def raw(self, text: str) -> None:
        """Already formatted text (jsonl), written as it is."""
        self.stream.write(text)
        if self.live:
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()

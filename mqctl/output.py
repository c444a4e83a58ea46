"""The only module that talks to rich: tables, json/jsonl/yaml, diagnostics, progress.

Data goes to stdout; progress and diagnostics to stderr. No ANSI codes when the stream is not a
terminal or NO_COLOR is set. Diagnostics are scrubbed of secrets; data is written exactly.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import select
import struct
import sys
import termios
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from mqctl.jsonvalues import to_json
from mqctl.redact import scrub

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    from mqctl.topology.plan import Plan

# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.


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
    from rich.console import Console

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
    from rich.text import Text

    stderr_console().print(Text(scrub(message)))


def warn(message: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(f"warning: {scrub(message)}", style="yellow"))


def error_line(message: str) -> None:
    """The one line the error boundary prints."""
    from rich.text import Text

    # soft_wrap: one line, whatever the terminal's width (scripts and people grep it)
    stderr_console().print(
        Text(f"mqctl: error: {scrub(message)}", style="bold red"), soft_wrap=True
    )


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
    import yaml

    return yaml.safe_dump(to_json(value), sort_keys=False, allow_unicode=True, width=100)


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """A list of records in any format; `columns` picks and orders the table's columns."""
    if fmt is OutputFormat.table:
        from rich.table import Table

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
    from rich.text import Text

    if value is None:
        return Text("")
    if isinstance(value, str):
        return Text(value)
    return Text(dumps_json(value))


# --- listings (mqctl list, show): streamed rows ------------------------------------------


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    tsv = "tsv"
    yaml = "yaml"


def default_list_format(stream: TextIO | None = None) -> ListFormat:
    """A table on a terminal, tab-separated values (with a header line) into a pipe or file."""
    out = stream or sys.stdout
    isatty = getattr(out, "isatty", None)
    return ListFormat.table if isatty and isatty() else ListFormat.tsv


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def flat_text(value: Any) -> str:
    """One cell: texts as they are, numbers and booleans as JSON writes them, nested values as
    compact JSON, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"))


def emit_listing(
    rows: Iterator[Mapping[str, Any]],
    fmt: ListFormat,
    columns: Sequence[str] | None,
    cell: Callable[[Mapping[str, Any], str], Any],
    labels: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Write rows as they come (all formats but the table stream); return how many.

    `cell(row, column)` reads a column's value (dotted paths live in the caller); `columns`
    None means each row's own top-level fields, taken from the first row for table and tsv.
    json and yaml rows are written whole, as the API nests them. TSV escapes tab, newline,
    carriage return and backslash as \\t \\n \\r \\\\ so that a row is one line.
    """
    out = stream or sys.stdout
    count = 0
    if fmt is ListFormat.table:
        collected = list(rows)
        cols = list(columns or (collected[0].keys() if collected else []))
        _print_table(collected, cols, cell, labels or {}, out)
        return len(collected)
    if fmt is ListFormat.tsv:
        cols_known = list(columns) if columns is not None else None
        if cols_known is not None:
            out.write("\t".join(cols_known) + "\n")
        for row in rows:
            if cols_known is None:
                cols_known = list(row.keys())
                out.write("\t".join(cols_known) + "\n")
            out.write(
                "\t".join(flat_text(cell(row, c)).translate(_TSV_ESCAPES) for c in cols_known)
                + "\n"
            )
            count += 1
    elif fmt is ListFormat.jsonl:
        for row in rows:
            out.write(dumps_json(row) + "\n")
            count += 1
    elif fmt is ListFormat.json:
        out.write("[")
        for row in rows:
            out.write(("\n  " if count == 0 else ",\n  ") + dumps_json(row))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        import yaml

        for row in rows:
            out.write(
                yaml.safe_dump([to_json(row)], sort_keys=False, allow_unicode=True, width=100)
            )
            count += 1
        if not count:
            out.write("[]\n")
    out.flush()
    return count


def _print_table(
    rows: Sequence[Mapping[str, Any]],
    cols: Sequence[str],
    cell: Callable[[Mapping[str, Any], str], Any],
    labels: Mapping[str, str],
    out: TextIO,
) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold", box=None, pad_edge=False)
    console = _console(out)
    if not color_enabled(out):
        console.width = _UNLIMITED_WIDTH  # into a file or a pipe, no cell is folded
    for col in cols:
        table.add_column(labels.get(col, col), overflow="fold")
    for row in rows:
        table.add_row(*(Text(flat_text(cell(row, col)).translate(_TSV_ESCAPES)) for col in cols))
    console.print(table)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (`object_totals.queues`); lists stay whole."""
    result: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping) and value:
            result.update(flatten(value, f"{prefix}{key}."))
        else:
            result[f"{prefix}{key}"] = value
    return result


def emit_record(record: Mapping[str, Any], fmt: ListFormat, sections: Sequence[str] = ()) -> None:
    """One object (mqctl show): json/yaml whole; table and tsv as `field<TAB>value` lines, with
    each of `sections` (lists of records) as a table of its own below."""
    if fmt in (ListFormat.json, ListFormat.jsonl, ListFormat.yaml):
        emit_document(record, OutputFormat(fmt.value))
        return
    plain = flatten({key: value for key, value in record.items() if key not in sections})
    if fmt is ListFormat.tsv:
        for key, value in flatten(record).items():
            sys.stdout.write(f"{key}\t{flat_text(value).translate(_TSV_ESCAPES)}\n")
        sys.stdout.flush()
        return
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in plain.items():
        table.add_row(key, Text(flat_text(value)))
    console.print(table)
    for name in sections:
        items = record.get(name) or []
        console.print(Text(f"\n{name} ({len(items)})", style="bold"))
        if items:
            flat = [flatten(item) for item in items]
            cols = list(dict.fromkeys(k for item in flat for k in item))
            _print_table(flat, cols, lambda row, col: row.get(col), {}, sys.stdout)


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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

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


# --- messages: consume/get/rpc output and the publish summary ------------------------------
#
# A consumer acks a message only after `MessageWriter.write_batch` returned for it, so this
# writer says exactly how many messages reached the output. When stdout is a pipe it waits until
# the reader has taken each message from the pipe before the next: `mqctl consume | head -1`
# then takes one message, and the ones `head` never read stay in the queue.


class MessageFormat(StrEnum):
    pretty = "pretty"
    json = "json"
    jsonl = "jsonl"


class MessageWriter:
    def __init__(
        self, fmt: MessageFormat, *, body_only: bool = False, stream: TextIO | None = None
    ) -> None:
        from mqctl.messaging.sink import MessageSink

        self.fmt = fmt
        self.body_only = body_only
        self.stream = stream or sys.stdout
        self.count = 0
        self._sink = MessageSink(self.stream)
        self._color = color_enabled(self.stream)

    def write_batch(self, deliveries: Sequence[Any]) -> None:
        """Write each message whole; raise OutputFailed saying how many of them got out."""
        from mqctl.messaging.message import OutputFailed

        chunks = [self._render(d) for d in deliveries]
        try:
            if not self._sink.is_pipe:
                return self._sink.write(chunks)
            assert self._sink.fd is not None
            for index, chunk in enumerate(chunks):
                try:
                    self._sink.write([chunk])
                    _wait_drained(self._sink.fd)
                except OutputFailed as exc:
                    raise OutputFailed(index + exc.written, exc.cause) from None
                except OSError as exc:
                    raise OutputFailed(index, exc) from None
        except OutputFailed as exc:
            if exc.broken_pipe:
                silence_stdout()
            raise

    def close(self) -> None:
        """End the output (closes the JSON array); errors are ignored: the data is out already."""
        if self.fmt is MessageFormat.json and not self.body_only:
            from mqctl.messaging.message import OutputFailed

            closing = "\n]\n" if self.count else "[]\n"
            with contextlib.suppress(OutputFailed):
                self._sink.write([closing.encode()])

    def _render(self, delivery: Any) -> bytes:
        from mqctl.messaging.message import delivery_record

        self.count += 1
        if self.body_only:
            body: bytes = delivery.body
            return body if body.endswith(b"\n") else body + b"\n"
        if self.fmt is MessageFormat.jsonl:
            return (json.dumps(delivery_record(delivery), ensure_ascii=False) + "\n").encode()
        if self.fmt is MessageFormat.json:
            text = json.dumps(delivery_record(delivery), ensure_ascii=False, indent=2)
            return (("[\n" if self.count == 1 else ",\n") + text).encode()
        text = _pretty_message(delivery_record(delivery), self.count, self._color)
        return (text if self.count == 1 else "\n" + text).encode()  # a blank line between


def _pretty_message(record: Mapping[str, Any], number: int, color: bool) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        width=100,
    )
    title = Text(f"message {number}", style="bold cyan")
    title.append(
        f"  exchange {json.dumps(record['exchange'])}  routing key "
        f"{json.dumps(record['routing_key'])}  delivery tag {record['delivery_tag']}",
        style="cyan",
    )
    if record["redelivered"]:
        title.append("  redelivered", style="yellow")
    console.print(title)
    for name, value in record["properties"].items():
        if name == "headers":
            console.print(Text("  headers:", style="bold"))
            for key, item in value.items():
                line = Text(f"    {key}: ", style="bold")
                line.append(json.dumps(item, ensure_ascii=False))
                console.print(line)
        else:
            line = Text(f"  {name}: ", style="bold")
            line.append(str(value))
            console.print(line)
    encoding = record.get("body_encoding")
    label = f"  body ({encoding}):" if encoding else "  body:"
    console.print(Text(label, style="bold"))
    console.print(Text(record["body"]), markup=False)
    return buffer.getvalue()


def publish_summary(result: Any) -> None:
    """The final line of `mqctl publish`: sent, confirmed, returned (code text), nacked."""
    parts = [f"sent {result.sent}"]
    if result.confirms:
        parts.append(f"confirmed {result.confirmed}")
    else:
        parts.append("confirmed - (confirms off)")
    returned = f"returned {result.returned_count}"
    if result.returned:
        returned += (
            " ("
            + ", ".join(
                f"{code} {text}: {n}" for (code, text), n in sorted(result.returned.items())
            )
            + ")"
        )
    parts.append(returned)
    parts.append(f"nacked {result.nacked}" if result.confirms else "nacked -")
    if result.unconfirmed:
        parts.append(f"unconfirmed {result.unconfirmed}")
    sys.stdout.write(", ".join(parts) + "\n")
    sys.stdout.flush()


def silence_stdout() -> None:
    """Point stdout at /dev/null so that nothing more (not even at exit) goes into a dead pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _wait_drained(fd: int) -> None:
    """Return once the pipe's reader has read everything; BrokenPipeError if it went away."""
    delay = 0.00002
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while True:
        unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if unread == 0:
            return
        for _, events in poller.poll(0):
            if events & (select.POLLERR | select.POLLHUP):
                silence_stdout()
                raise BrokenPipeError(32, "the reader closed the pipe")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


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
        from rich.text import Text

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


# --- topology (plan diffs, routing trees) ---------------------------------------------------

_PLAN_MARKS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "conflict": ("!", "bold red"),
    "delete": ("-", "red"),
    "ensure": ("=", "cyan"),
    "unchanged": (" ", "dim"),
}


def render_plan(plan: Plan, *, show_unchanged: bool = False) -> None:
    """A plan as a field-level diff on stdout: coloured on a terminal, plain otherwise.

    Both come from the same parts (`_plan_parts`: (text, style) pieces per line). Without colour
    (a pipe, a CI log, NO_COLOR) the pieces are written directly: a plan can have thousands of
    lines, and rich's per-line rendering would cost most of a second.
    """
    lines = _plan_parts(plan, show_unchanged)
    if not color_enabled(sys.stdout):
        sys.stdout.write("".join("".join(text for text, _ in parts) + "\n" for parts in lines))
        sys.stdout.flush()
        return
    from rich.text import Text

    console = stdout_console()
    for parts in lines:
        line = Text()
        for text, style in parts:
            line.append(text, style=style)
        console.print(line)


_Parts = list[tuple[str, str]]


def _plan_parts(plan: Plan, show_unchanged: bool) -> Iterator[_Parts]:
    """The lines of a plan, each as (text, style) pieces."""
    for heading in plan.header():
        yield [(heading, "dim")]
    for change in plan.changes:
        action = str(change.action)
        if action == "unchanged" and not show_unchanged:
            continue
        mark, style = _PLAN_MARKS.get(action, ("?", ""))
        line = [(f"{mark} {action:<9} ", style), (change.obj.title(), "")]
        if change.usage is not None:  # a queue to be deleted or recreated: what it holds
            line.append((f" ({change.usage})", "bold" if change.usage.messages else ""))
        yield line
        for diff in change.diffs:
            shown = diff.to_json()  # a secret's values are "(hidden)"
            yield [
                (f"      {shown['field']}: ", "bold"),
                (dumps_json(shown["old"]), "red"),
                (" (broker) -> ", ""),
                (dumps_json(shown["new"]), "green"),
                (" (files)", ""),
            ]
        if change.note and action == "conflict":
            yield [(f"      {change.note}", "italic")]
    for note in _shared_notes(plan):
        yield [(note, "italic")]
    for refusal in plan.refusals:
        yield [(f"x refused   {refusal}", "bold red")]
    yield [(_plan_summary(plan.counts()), "bold")]


def _shared_notes(plan: Plan) -> list[str]:
    """The reasons given for re-declares and deletes, once per reason rather than once per
    object: a plan of thousands of bindings would otherwise repeat a line thousands of times."""
    counts: dict[tuple[str, str], int] = {}
    for change in plan.changes:
        action = str(change.action)
        if action in ("ensure", "delete") and change.note:
            key = (action, change.note)
            counts[key] = counts.get(key, 0) + 1
    return [
        f"{_PLAN_MARKS[action][0]} {action} ({count} {'object' if count == 1 else 'objects'}): "
        f"{note}"
        for (action, note), count in counts.items()
    ]


def _plan_summary(summary: Mapping[str, int]) -> str:
    parts = [
        f"{summary['create']} to create",
        f"{summary['update']} to update",
        f"{summary['conflict']} in conflict",
        f"{summary['delete']} to delete",
        f"{summary['unchanged']} unchanged",
    ]
    if summary.get("ensure"):
        parts.append(f"{summary['ensure']} to re-declare")
    return "Plan: " + ", ".join(parts) + "."


_UNLIMITED_WIDTH = 100_000


def render_tree(title: str, branches: Sequence[Mapping[str, Any]]) -> None:
    """A routing graph: each branch {"label", "children": [...]} nested as a tree."""
    from rich.text import Text
    from rich.tree import Tree

    root = Tree(Text(title, style="bold"))

    def grow(node: Tree, items: Sequence[Mapping[str, Any]]) -> None:
        for item in items:
            child = node.add(Text(item["label"], style=item.get("style", "")))
            grow(child, item.get("children", []))

    grow(root, branches)
    console = stdout_console()
    if not color_enabled(sys.stdout):
        # On a terminal the tree fits the window; into a file or a pipe no label is cut off.
        console.width = _UNLIMITED_WIDTH
    console.print(root)


_YAML_BREAKS = ("\x85", "\u2028", "\u2029")


def dump_topology_yaml(document: Any) -> str:
    """A topology document as YAML that loads back to the same values.

    Unicode is written as itself, except when a text holds a character YAML reads as a line
    break (NEL, U+2028, U+2029): PyYAML writes those raw, and they would come back as spaces.
    """
    import yaml

    data = to_json(document)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if any(mark in text for mark in _YAML_BREAKS):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
    return text


def write_text(text: str) -> None:
    """Data (a dot or mermaid graph, a document) to stdout exactly as given."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()

"""Listings (mqctl list, show): rows streamed as a table, tsv, json, jsonl or yaml."""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    pass

# rich, yaml, the messaging modules and mqctl.jsonvalues (which brings the wire codec's value
# types, 30 ms) are imported inside the functions that use them: every command, and every
# completion TAB, imports this module, and a listing's rows are plain JSON already.

from mqctl.output.console import (
    UNLIMITED_WIDTH,
    color_enabled,
    console_for,
    stdout_console,
)

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
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not plain JSON (an AMQP value): rendered as mqctl does
        from mqctl.jsonvalues import to_json

        return json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"))


def tsv_cell(value: Any) -> str:
    """`flat_text` escaped for a tsv cell, with the API's common cases (texts, integers,
    finite floats) first: a listing writes one for every column of every row."""
    kind = type(value)
    if kind is str:
        return value.translate(_TSV_ESCAPES)  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # what json.dumps writes for it
    return flat_text(value).translate(_TSV_ESCAPES)


# What a tsv cell escapes besides the tab: a row's joined line without any of them (and with
# one tab between each two cells) has no cell to escape.
_TSV_SPECIAL = re.compile(r"[\\\n\r]")


def _plain_cell(value: Any) -> str:
    """`tsv_cell` before escaping, for a value that is not a text."""
    if value is None:
        return ""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)
    return flat_text(value)


def tsv_line(values: Sequence[Any]) -> str:
    """One row's cells as a tsv line. Most rows hold plain names and numbers: the line is
    joined as it is and looked over once, and only a row with something to escape is joined
    again cell by cell (10,000 queues: a third less of mqctl's own time per row)."""
    line = "\t".join(
        [
            value if type(value) is str else "" if value is None else _plain_cell(value)
            for value in values
        ]
    )
    if line.count("\t") == len(values) - 1 and _TSV_SPECIAL.search(line) is None:
        return line
    return "\t".join([tsv_cell(value) for value in values])


def _row_json(row: Mapping[str, Any]) -> str:
    """A listing's row: JSON as the API sent it, written as it is (to_json only for a value
    json cannot write, which the API never sends)."""
    try:
        return json.dumps(row, ensure_ascii=False)
    except (TypeError, ValueError):
        from mqctl.output.documents import dumps_json

        return dumps_json(row)


Reader = Callable[[Mapping[str, Any]], Any]


def _started(rows: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """`rows` with its first row already fetched: a listing that fails at its first request
    (a refused login, a missing vhost) fails before a header line or a `[` is written."""
    try:
        first = next(rows)
    except StopIteration:
        return iter(())
    return itertools.chain((first,), rows)


def emit_listing(
    rows: Iterator[Mapping[str, Any]],
    fmt: ListFormat,
    columns: Sequence[str] | None,
    reader: Callable[[str], Reader],
    labels: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Write rows as they come (all formats but the table stream); return how many.

    `reader(column)` gives the function that reads that column's value from a row (dotted paths
    live in the caller); `columns` None means each row's own top-level fields, taken from the
    first row for table and tsv. json and yaml rows are written whole, as the API nests them.
    TSV escapes tab, newline, carriage return and backslash as \\t \\n \\r \\\\ so that a
    row is one line.
    """
    out = stream or sys.stdout
    count = 0
    rows = _started(rows)
    if fmt is ListFormat.table:
        collected = list(rows)
        cols = list(columns or (collected[0].keys() if collected else []))
        _print_table(collected, cols, reader, labels or {}, out)
        return len(collected)
    if fmt is ListFormat.tsv:
        write = out.write
        reads: list[Reader] | None = None
        if columns is not None:
            reads = [reader(c) for c in columns]
            write("\t".join(columns) + "\n")
        for row in rows:
            if reads is None:
                reads = [reader(c) for c in row]
                write("\t".join(row) + "\n")
            write(tsv_line([read(row) for read in reads]) + "\n")
            count += 1
    elif fmt is ListFormat.jsonl:
        for row in rows:
            out.write(_row_json(row) + "\n")
            count += 1
    elif fmt is ListFormat.json:
        out.write("[")
        for row in rows:
            out.write(("\n  " if count == 0 else ",\n  ") + _row_json(row))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        import yaml

        from mqctl.jsonvalues import to_json

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
    reader: Callable[[str], Reader],
    labels: Mapping[str, str],
    out: TextIO,
) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold", box=None, pad_edge=False)
    console = console_for(out)
    if not color_enabled(out):
        console.width = UNLIMITED_WIDTH  # into a file or a pipe, no cell is folded
    for col in cols:
        table.add_column(labels.get(col, col), overflow="fold")
    reads = [reader(col) for col in cols]
    for row in rows:
        table.add_row(*(Text(tsv_cell(read(row))) for read in reads))
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
        from mqctl.output.documents import OutputFormat, emit_document

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
            _print_table(flat, cols, _key_reader, {}, sys.stdout)


def _key_reader(key: str) -> Reader:
    return lambda row: row.get(key)

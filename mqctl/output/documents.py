"""Data on stdout: JSON, JSON lines, YAML documents and tables of records."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO

from mqctl.jsonvalues import to_json

if TYPE_CHECKING:
    from rich.text import Text


# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.

from mqctl.output.console import (
    stdout_console,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    yaml = "yaml"


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

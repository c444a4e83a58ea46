"""The only package that talks to rich: what mqctl shows, split by concern.

- console: diagnostics on stderr, progress, the consoles (TTY and NO_COLOR handling);
- documents: JSON, JSON lines, YAML and tables on stdout;
- listing: `mqctl list` and `show` rows, streamed;
- messages: consume/get/rpc output and the publish summary;
- wire: the wire views' writer;
- topology: plans and routing trees;
- top: the live view of `mqctl top` (imported by that command only).

Data goes to stdout; progress and diagnostics to stderr. `from mqctl import output` gives every
renderer by its name, loading its module on first use (PEP 562): every command, and every
completion TAB, imports this package, and most render little or nothing. rich, yaml and the
library's modules are imported inside the functions that use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mqctl.output.console import (
        Advance,
        color_enabled,
        error_line,
        info,
        progress,
        silence_stdout,
        stderr_console,
        stdout_console,
        warn,
        write_text,
    )
    from mqctl.output.documents import (
        OutputFormat,
        dump_topology_yaml,
        dump_yaml,
        dumps_json,
        emit_document,
        emit_rows,
        write_json_line,
    )
    from mqctl.output.listing import (
        ListFormat,
        default_list_format,
        emit_listing,
        emit_record,
        flat_text,
        flatten,
    )
    from mqctl.output.messages import MessageFormat, MessageWriter, publish_summary
    from mqctl.output.topology import render_plan, render_tree
    from mqctl.output.wire import WIRE_CONN_STYLES, WireWriter, wire_conn_style

# Each name and the module that defines it.
_EXPORTS = {
    "Advance": "console",
    "color_enabled": "console",
    "error_line": "console",
    "info": "console",
    "progress": "console",
    "silence_stdout": "console",
    "stderr_console": "console",
    "stdout_console": "console",
    "warn": "console",
    "write_text": "console",
    "OutputFormat": "documents",
    "dump_topology_yaml": "documents",
    "dump_yaml": "documents",
    "dumps_json": "documents",
    "emit_document": "documents",
    "emit_rows": "documents",
    "write_json_line": "documents",
    "ListFormat": "listing",
    "default_list_format": "listing",
    "emit_listing": "listing",
    "emit_record": "listing",
    "flat_text": "listing",
    "flatten": "listing",
    "MessageFormat": "messages",
    "MessageWriter": "messages",
    "publish_summary": "messages",
    "render_plan": "topology",
    "render_tree": "topology",
    "WIRE_CONN_STYLES": "wire",
    "WireWriter": "wire",
    "wire_conn_style": "wire",
}

__all__ = [
    "WIRE_CONN_STYLES",
    "Advance",
    "ListFormat",
    "MessageFormat",
    "MessageWriter",
    "OutputFormat",
    "WireWriter",
    "color_enabled",
    "default_list_format",
    "dump_topology_yaml",
    "dump_yaml",
    "dumps_json",
    "emit_document",
    "emit_listing",
    "emit_record",
    "emit_rows",
    "error_line",
    "flat_text",
    "flatten",
    "info",
    "progress",
    "publish_summary",
    "render_plan",
    "render_tree",
    "silence_stdout",
    "stderr_console",
    "stdout_console",
    "warn",
    "wire_conn_style",
    "write_json_line",
    "write_text",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next use is a plain global
    return value

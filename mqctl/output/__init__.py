"""The only package that talks to rich: what mqctl shows, split by concern.

- console: diagnostics on stderr, progress, the consoles (TTY and NO_COLOR handling);
- documents: JSON, JSON lines, YAML and tables on stdout;
- listing: `mqctl list` and `show` rows, streamed;
- messages: consume/get/rpc output and the publish summary;
- wire: the wire views' writer;
- topology: plans and routing trees;
- top: the live view of `mqctl top` (imported by that command only).

Data goes to stdout; progress and diagnostics to stderr. `from mqctl import output` gives every
renderer by its name. rich, yaml and the library's modules are imported inside the functions that
use them: every command, and every completion TAB, imports this package, and most never render
anything rich.
"""

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

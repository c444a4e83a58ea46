"""Shell completion for every command, attached by parameter name: command modules write nothing for it.

`mqctl.completion.engine` asks `completer_for` for the parameter whose value is being typed. Each
parameter gets one from the convention below, chosen by its name (the Python argument name:
`--queue` -> `queue`):

| parameter name                         | completes                                               |
|----------------------------------------|---------------------------------------------------------|
| queue, queues                          | queue names in the vhost on the line (management API)   |
| exchange, exchanges                    | exchange names in the vhost on the line                 |
| vhost, vhosts                          | vhost names                                             |
| profile                                | profile names from the profile file                     |
| file, files, path, paths               | under `topology` only: *.yaml, *.yml, *.json            |
| topology_file, topology_files          | anywhere: *.yaml, *.yml, *.json                         |
| capture, captures                      | *.pcap, *.pcapng, *.gz                                  |
| method, methods                        | AMQP method names (Basic.Publish) and class globs       |
| offset                                 | the stream offset keywords first, last, next            |
| delivery_mode                          | persistent, transient, 2, 1                             |
| interface                              | this machine's network interfaces                       |
| install_completion, show_completion    | bash, zsh, fish                                         |
| kind                                   | what `mqctl list` lists: queues, exchanges, ...         |
| columns                                | the kind's columns, comma-separated (`name,messages`)   |
| sort                                   | the kind's columns, `-COL` for descending               |
| checks                                 | `mqctl health` check names                              |
| connection_name                        | connection names from the live broker                   |
| input, output, *_file, *_path, ca_cert, client_cert, client_key | file names (the shell's own) |

Parameters typed as choices (enums) complete their choices. Any other path-typed parameter, or a
parameter whose metavar starts with FILE, PATH or DIR, gets the shell's file-name completion.
"""

from __future__ import annotations

from typing import Any

from mqctl.completion import broker, operate, static
from mqctl.completion.items import Completer

__all__ = ["COMPLETERS", "completer_for"]

COMPLETERS: dict[str, Completer] = {
    "queue": broker.complete_queues,
    "queues": broker.complete_queues,
    "exchange": broker.complete_exchanges,
    "exchanges": broker.complete_exchanges,
    "vhost": broker.complete_vhosts,
    "vhosts": broker.complete_vhosts,
    "profile": static.complete_profiles,
    "topology_file": static.complete_topology_files,
    "topology_files": static.complete_topology_files,
    "capture": static.complete_captures,
    "captures": static.complete_captures,
    "method": static.complete_methods,
    "methods": static.complete_methods,
    "offset": static.complete_offsets,
    "delivery_mode": static.complete_delivery_modes,
    "interface": static.complete_interfaces,
    "kind": operate.complete_kinds,
    "columns": operate.complete_columns,
    "sort": operate.complete_sort_columns,
    "checks": operate.complete_checks,
    "connection_name": broker.complete_connections,
    "install_completion": static.complete_shells,
    "show_completion": static.complete_shells,
    "input": static.complete_any_file,
    "output": static.complete_any_file,
    "ca_cert": static.complete_any_file,
    "client_cert": static.complete_any_file,
    "client_key": static.complete_any_file,
}
# Inside the `topology` group a plain file argument is a topology file.
TOPOLOGY_GROUP = "topology"
TOPOLOGY_FILE_NAMES = frozenset({"file", "files", "path", "paths"})
FILE_METAVARS = ("FILE", "PATH", "DIR")
FILE_SUFFIXES = ("_file", "_path")


def completer_for(param: Any, command_path: tuple[str, ...]) -> Completer | None:
    """The completer the convention gives `param` of the command at `command_path`, if any."""
    name = param.name or ""
    if name in TOPOLOGY_FILE_NAMES and TOPOLOGY_GROUP in command_path:
        return static.complete_topology_files
    if name in COMPLETERS:
        return COMPLETERS[name]
    # typer describes a parameter's type in `type_descriptor` (a Path annotation: is_path).
    described: Any = getattr(param, "type_descriptor", None)
    if getattr(described, "is_path", False):
        info = described.parameter_info
        dirs_only = bool(info.dir_okay and not info.file_okay)
        return static.complete_any_dir if dirs_only else static.complete_any_file
    metavar = getattr(param, "metavar", None) or ""
    if name.endswith(FILE_SUFFIXES) or metavar.upper().startswith(FILE_METAVARS):
        return static.complete_any_file
    return None

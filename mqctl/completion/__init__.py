"""Shell completion for every command, attached by parameter name: command modules write nothing for it.

The root group (`mqctl.commands.common.ConnectedGroup`) calls `attach_completers` on itself once the
whole command tree is built. Each parameter that has no completion of its own gets one from the
convention below, chosen by its click name (the Python argument name: `--queue` -> `queue`):

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
| input, output, *_file, *_path, ca_cert, client_cert, client_key | file names (the shell's own) |

Parameters typed as choices (click.Choice, typer enums) are completed by click itself and left
alone; so are parameters that bring their own completion. Any other `click.Path`, or a parameter
whose metavar starts with FILE, PATH or DIR, gets the shell's file-name completion.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from mqctl.completion import broker, static
from mqctl.completion.shells import handle_completion_request
from mqctl.completion.static import Completer

__all__ = ["COMPLETERS", "attach_completers", "completer_for", "handle_completion_request"]

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


def completer_for(param: click.Parameter, command_path: tuple[str, ...]) -> Completer | None:
    """The completer the convention gives `param` of the command at `command_path`, if any."""
    name = param.name or ""
    if isinstance(param.type, click.Choice):
        return None  # click completes choices itself
    if name in TOPOLOGY_FILE_NAMES and TOPOLOGY_GROUP in command_path:
        return static.complete_topology_files
    if name in COMPLETERS:
        return COMPLETERS[name]
    if isinstance(param.type, click.Path):
        return static.complete_any_dir if _dirs_only(param.type) else static.complete_any_file
    if name.endswith(FILE_SUFFIXES) or (param.metavar or "").upper().startswith(FILE_METAVARS):
        return static.complete_any_file
    return None


def attach_completers(command: click.Command) -> None:
    """Give every parameter in the tree under `command` its conventional completer (idempotent)."""
    for path, cmd in _walk(command, ()):
        for param in cmd.params:
            if param._custom_shell_complete is not None:
                continue
            completer = completer_for(param, path)
            if completer is not None:
                param._custom_shell_complete = completer


def _walk(
    command: click.Command, parents: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    path = (*parents, command.name) if command.name else parents
    yield path, command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub, path)


def _dirs_only(path_type: click.Path) -> bool:
    return bool(path_type.dir_okay and not path_type.file_okay)

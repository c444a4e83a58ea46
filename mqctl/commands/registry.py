"""Which module brings each command, and the root group that loads them only when asked.

Start-up and completion pay only for the command on the line: `mqctl consume ...` imports
mqctl.commands.consume and nothing of topology or wire. `mqctl --help` lists them all, and loads
them all to do it.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

# Command name -> (module, the typer app in it). An app of one command and no callback becomes
# that command; an app with several becomes a group. The order is the order of `mqctl --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "publish": ("mqctl.commands.publish", "app"),
    "consume": ("mqctl.commands.consume", "consume_app"),
    "get": ("mqctl.commands.consume", "get_app"),
    "rpc": ("mqctl.commands.rpc", "app"),
    "move": ("mqctl.commands.move", "app"),
    "topology": ("mqctl.commands.topology", "app"),
    "wire": ("mqctl.commands.wire_live", "app"),
    "list": ("mqctl.commands.listing", "app"),
    "show": ("mqctl.commands.show", "app"),
    "declare": ("mqctl.commands.changes", "declare_app"),
    "delete": ("mqctl.commands.changes", "delete_app"),
    "purge": ("mqctl.commands.changes", "purge_app"),
    "close": ("mqctl.commands.close", "app"),
    "health": ("mqctl.commands.health", "app"),
    "top": ("mqctl.commands.top", "app"),
}

SETTINGS: dict[str, Any] = {
    "add_completion": False,  # the root brings mqctl's own
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "rich",
}


def command_app(**kwargs: Any) -> typer.Typer:
    """A typer app for a command module, with the settings every mqctl app shares."""
    return typer.Typer(**{**SETTINGS, **kwargs})


def load(name: str) -> Any:
    """The click command typer builds for the command `name`."""
    module_name, attribute = COMMANDS[name]
    app = getattr(importlib.import_module(module_name), attribute)
    return typer.main.get_command(app)


class LazyGroup(TyperGroup):
    """The root group: knows every command's name, builds a command the first time it is asked."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load(cmd_name)
        return self.commands[cmd_name]

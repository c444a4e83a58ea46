"""`--help` on a narrow terminal never cuts an option name (issue 19): rich's tables would cut
`--exchange` to `--exch…` below 80 columns, so mqctl lays help out 80 wide there (the terminal
wraps the long lines). Every option of every command is checked at COLUMNS=40."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mqctl.cli import app_command
from mqctl.commands.registry import COMMANDS, load
from tests.run import run_process


def commands() -> Iterator[tuple[list[str], Any]]:
    """Every command on the line as its words, with its command object."""
    yield [], app_command()
    for name in COMMANDS:
        command = load(name)
        subcommands = getattr(command, "commands", {})
        if not subcommands:
            yield [name], command
        for sub, subcommand in subcommands.items():
            yield [name, sub], subcommand


def option_names(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if getattr(param, "hidden", False) or param.param_type_name != "option":
            continue
        names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def test_option_names_are_never_cut_at_40_columns() -> None:
    for words, command in commands():
        status, out, err = run_process(*words, "--help", env={"COLUMNS": "40"})
        assert status == 0, err
        assert not re.search(r"--[\w-]*…", out), (words, out)  # no "--exch…"
        missing = {name for name in option_names(command) if name not in out}
        assert not missing, (words, missing)


def test_a_wide_terminal_keeps_the_rich_help() -> None:
    assert "╭─ Connection" in run_process("publish", "--help", env={"COLUMNS": "100"}).out

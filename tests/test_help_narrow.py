"""`--help` on a narrow terminal never cuts an option name (issue 19): below 80 columns, where
rich's tables would cut `--exchange` to `--exch…`, mqctl gives click's plain help, which wraps."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from mqctl.cli import app_command
from mqctl.commands.registry import COMMANDS, load


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
    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    for words, command in commands():
        result = subprocess.run(
            [sys.executable, "-m", "mqctl", *words, "--help"],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "…" not in result.stdout, (words, result.stdout)
        missing = {name for name in option_names(command) if name not in result.stdout}
        assert not missing, (words, missing)


def test_a_wide_terminal_keeps_the_rich_help() -> None:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mqctl", "publish", "--help"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert "╭─ Connection" in result.stdout

"""The `_MQCTL_COMPLETE` request: print a script (`source_<shell>`) or answer a TAB
(`complete_<shell>`), before typer parses anything.

A TAB must be fast and silent: only the commands on the line are loaded, warnings and stderr are
swallowed while completing, and any failure answers nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from mqctl.completion import shells

PROG_NAME = "mqctl"


def answer_completion_request(root: Callable[[], Any], prog_name: str = PROG_NAME) -> int | None:
    """When the completion variable is set, answer the shell and return the exit status;
    otherwise return None."""
    instruction = os.environ.get(shells.complete_var_for(prog_name))
    if not instruction:
        return None
    action, _, shell = instruction.partition("_")
    if shell not in shells.SUPPORTED:
        sys.stderr.write(f"{prog_name} completes bash, zsh and fish, not {shell!r}\n")
        return 4
    if action == "source":
        from mqctl.completion.scripts import script

        sys.stdout.write(script(shell, prog_name))
        return 0
    if action != "complete":
        sys.stderr.write(f"unknown completion instruction {instruction!r}\n")
        return 4
    status = 0
    answer = ""
    with _quietly():
        answer, status = _answer(shell, root(), prog_name)
    if answer:
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    return status


def completer_for(param: Any, path: tuple[str, ...]) -> Any:
    """The convention's completer; loaded (with every completer module) only when a value is
    being completed, not for option and command names."""
    from mqctl.completion.convention import completer_for as conventional

    return conventional(param, path)


def _answer(shell: str, root: Any, prog_name: str) -> tuple[str, int]:
    from mqctl.completion.engine import complete

    env = os.environ
    if shell == "bash":
        line = shells.BashLine(env)
        args, incomplete = line.words()
        items = complete(root, prog_name, args, incomplete, completer_for)
        return shells.bash_answer(items, incomplete, line), 0
    args, incomplete = shells.words_from_args_variable(env)
    items = complete(root, prog_name, args, incomplete, completer_for)
    if shell == "zsh":
        return shells.zsh_answer(items, incomplete), 0
    answer, wants_files = shells.fish_answer(items, incomplete)
    # The fish script asks twice: "is-args" (exit 0: use our answers and no files, 1: let fish
    # complete file names), then "get-args" for the answers themselves.
    if env.get("_TYPER_COMPLETE_FISH_ACTION", "") == "is-args":
        return "", 1 if wants_files else 0
    return answer, 0


@contextlib.contextmanager
def _quietly() -> Any:
    """Warnings off and stderr swallowed; a failure answers nothing (a traceback in the middle of
    a command line helps no one)."""
    warnings.simplefilter("ignore")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(Exception):
        yield

"""Answering the shell: the `_MQCTL_COMPLETE` protocol of typer's bash, zsh and fish scripts.

The scripts themselves are typer's (`mqctl --install-completion` writes the same ones, and
completions/ holds them, generated); only the program's side of the protocol is refined here:

- answers are printed only when there are some: an empty answer is no output at all;
- nothing ever reaches stderr and nothing raises: a failing completer completes nothing;
- file-name completion works: a parameter that wants the shell's own file names gets the bash
  script's `-o default` fallback, zsh's `_files`, fish's file completion, instead of its own
  half-typed word back (typer 0.24 echoes the word); listed files keep zsh's native `_files -g`.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

import click
from click.shell_completion import CompletionItem, ShellComplete
from typer import _completion_classes as typer_shells

# Item types. "file" and "dir" are click's own: the shell should complete file names itself.
SHELL_FILE = "file"
SHELL_DIR = "dir"
# A directory in a listing made here (values end in "/"); a listed file is a plain item.
LISTED_DIR = "listed-dir"


class _Stripped:
    def source(self) -> str:
        # As typer's --show-completion/--install-completion print it: zsh needs `#compdef` on the
        # first line to be autoloaded from $fpath.
        return str(super().source()).strip()  # type: ignore[misc]


def _wants_shell_files(items: list[CompletionItem]) -> str | None:
    for item in items:
        if item.type in (SHELL_FILE, SHELL_DIR):
            return str(item.type)
    return None


class BashComplete(_Stripped, typer_shells.BashComplete):
    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        if _wants_shell_files(items):
            return ""  # the script's `complete -o default` completes file names
        if len(items) == 1 and items[0].type == LISTED_DIR:
            # Let bash finish a lone directory itself: it adds the "/" without a trailing space.
            return ""
        return "\n".join(item.value for item in items)


class ZshComplete(_Stripped, typer_shells.ZshComplete):
    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        wanted = _wants_shell_files(items)
        if wanted:
            return "_files -/" if wanted == SHELL_DIR else "_files"
        glob = next((item.glob for item in items if item.glob), None)
        if glob:
            return f"_files -g '{glob}'"
        if not items:
            return ""
        listing = "\n".join(self.format_completion(item) for item in items)
        return f"_arguments '*: :(({listing}))'"


class FishComplete(_Stripped, typer_shells.FishComplete):
    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        shown = [] if _wants_shell_files(items) else [self.format_completion(i) for i in items]
        # The script asks twice: "is-args" (exit 0: use our answers and no files, 1: let fish
        # complete file names), then "get-args" for the answers themselves.
        if os.getenv("_TYPER_COMPLETE_FISH_ACTION", "") == "is-args":
            sys.exit(0 if shown else 1)
        return "\n".join(shown)


SHELLS: dict[str, type[ShellComplete]] = {
    "bash": BashComplete,
    "zsh": ZshComplete,
    "fish": FishComplete,
}


def complete_var_for(prog_name: str) -> str:
    return f"_{prog_name}_COMPLETE".replace("-", "_").upper()


def handle_completion_request(
    cli: click.Command,
    ctx_args: MutableMapping[str, Any],
    prog_name: str,
    complete_var: str | None = None,
) -> None:
    """When the completion variable is set, answer the shell and exit; otherwise return.

    Instructions are typer's: `source_bash` prints the script, `complete_bash` answers (and the same
    for zsh and fish). Other shells typer knows (PowerShell) are handed to typer unchanged.
    """
    complete_var = complete_var or complete_var_for(prog_name)
    instruction = os.environ.get(complete_var)
    if not instruction:
        return
    action, _, shell = instruction.partition("_")
    comp_cls = SHELLS.get(shell)
    if comp_cls is None:
        from typer.completion import shell_complete

        sys.exit(shell_complete(cli, ctx_args, prog_name, complete_var, instruction))
    comp = comp_cls(cli, ctx_args, prog_name, complete_var)
    if action == "source":
        click.echo(comp.source())
        sys.exit(0)
    if action != "complete":
        click.echo(f"unknown completion instruction {instruction!r}", err=True)
        sys.exit(4)
    answer = quietly(comp.complete)
    if answer:
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    sys.exit(0)


def quietly(produce: Callable[[], str]) -> str:
    """Run `produce` with warnings off and stderr swallowed; any failure answers nothing."""
    warnings.simplefilter("ignore")
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return produce()
    except Exception:  # a traceback in the middle of a command line helps no one
        return ""

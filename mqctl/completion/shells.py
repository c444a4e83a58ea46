"""Answering the shell: the program's side of the `_MQCTL_COMPLETE` protocol for bash, zsh and fish.

The scripts are in `mqctl.completion.scripts` (typer's protocol; typer's fish script, own bash and
zsh scripts). Here:

- an empty answer is no output at all, nothing ever reaches stderr, and nothing raises: a failing
  completer completes nothing;
- a parameter that wants the shell's own file names gets them (bash `compopt -o default`, zsh
  `_files`, fish's file completion) instead of its half-typed word back (typer 0.24 echoes it);
  files listed by suffix use zsh's native `_files -g` and bash's `-o filenames` quoting;
- fish falls back to file names only for parameters that take paths.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

import click
from click.shell_completion import CompletionItem, ShellComplete, split_arg_string
from typer import _completion_classes as typer_shells

from mqctl.completion.scripts import BASH_TEMPLATE, ZSH_TEMPLATE

# Item types. "file" and "dir" are click's own: the shell should complete file names itself.
SHELL_FILE = "file"
SHELL_DIR = "dir"
# A directory in a listing made here (values end in "/"); a listed file is a plain item.
LISTED_DIR = "listed-dir"


def _wants_shell_files(items: list[CompletionItem]) -> str | None:
    for item in items:
        if item.type in (SHELL_FILE, SHELL_DIR):
            return str(item.type)
    return None


def _with_option_prefix(items: list[CompletionItem], incomplete: str) -> list[CompletionItem]:
    """For `--queue=ord`, zsh and fish match answers against the whole word: give them
    `--queue=orders`, not `orders` (bash replaces only the part after "=")."""
    option, equals, _ = incomplete.partition("=")
    if not (equals and option.startswith("-")):
        return items
    return [
        CompletionItem(option + equals + item.value, type=item.type, help=item.help)
        if item.type not in (SHELL_FILE, SHELL_DIR)
        else item
        for item in items
    ]


class BashComplete(typer_shells.BashComplete):
    source_template = BASH_TEMPLATE
    # What bash replaces is the text after the last of these (COMP_WORDBREAKS, quotes aside).
    DEFAULT_WORDBREAKS = " \t\n><=;|&(:"
    replaced: str | None = None  # that text, when the script passed COMP_LINE

    def get_completion_args(self) -> tuple[list[str], str]:
        """From the line as typed when the script passes it; COMP_WORDS is split at ':' and '='."""
        line = os.environ.get("COMP_LINE")
        if line is None:
            return super().get_completion_args()
        line = line[: int(os.environ.get("COMP_POINT") or len(line))]
        words = split_arg_string(line)
        breaks = os.environ.get("COMP_WORDBREAKS", self.DEFAULT_WORDBREAKS)
        breaks = breaks.replace('"', "").replace("'", "")
        self.replaced = re.split(f"[{re.escape(breaks)}]", line)[-1] if breaks else line
        if words and line and not line[-1].isspace():
            return words[1:-1], words[-1]
        return words[1:], ""

    def complete(self) -> str:
        """First line: how the script treats the rest (`plain`, `paths`, or `files`)."""
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        if _wants_shell_files(items):
            return "files"
        if not items:
            return ""
        values = [self._as_replacement(item.value, incomplete) for item in items]
        if any(item.glob for item in items):
            # `compopt -o filenames`: bash quotes the names and adds "/" to directories itself.
            return "\n".join(["paths", *(value.rstrip("/") for value in values)])
        return "\n".join(["plain", *(_bash_escape(value) for value in values)])

    def _as_replacement(self, value: str, incomplete: str) -> str:
        """Bash replaces only the text after the last word break (`orders:v` -> `v`): drop the
        part of the value typed before it, or bash would write it twice."""
        if self.replaced is None:
            return value
        typed = incomplete.partition("=")[2] if incomplete.startswith("-") else incomplete
        rest = self.replaced
        before = typed[: len(typed) - len(rest)] if typed.endswith(rest) else ""
        return value[len(before) :] if before and value.startswith(before) else value


# Bash inserts a plain answer as it stands: quote what the shell would otherwise split or expand.
_BASH_SPECIAL = re.compile(r"[^A-Za-z0-9_.,:@%/+=-]")


def _bash_escape(value: str) -> str:
    return _BASH_SPECIAL.sub(lambda match: "\\" + match[0], value)


class ZshComplete(typer_shells.ZshComplete):
    source_template = ZSH_TEMPLATE

    def format_completion(self, item: CompletionItem) -> str:
        # typer renders the help with rich, which wraps it at 80 columns: join it back.
        value, colon, help = super().format_completion(item).partition('":"')
        return f"{value}{colon}{' '.join(help.split())}"

    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = _with_option_prefix(self.get_completions(args, incomplete), incomplete)
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


class FishComplete(typer_shells.FishComplete):
    def format_completion(self, item: CompletionItem) -> str:
        # Each output line is one candidate: a help text wrapped onto two lines would be two.
        line = super().format_completion(item)
        value, tab, help = line.partition("\t")
        return f"{value}{tab}{' '.join(help.split())}"

    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = _with_option_prefix(self.get_completions(args, incomplete), incomplete)
        wants_files = _wants_shell_files(items) is not None
        # The script asks twice: "is-args" (exit 0: use our answers and no files, 1: let fish
        # complete file names), then "get-args" for the answers themselves. File names only where
        # the parameter takes a path: a queue name that is not there is not a file either.
        if os.getenv("_TYPER_COMPLETE_FISH_ACTION", "") == "is-args":
            sys.exit(1 if wants_files else 0)
        return "" if wants_files else "\n".join(self.format_completion(i) for i in items)


SHELLS: dict[str, type[ShellComplete]] = {
    "bash": BashComplete,
    "zsh": ZshComplete,
    "fish": FishComplete,
}


def source_text(comp: ShellComplete) -> str:
    """The script as printed and installed: stripped, so zsh finds `#compdef` on line one."""
    return comp.source().strip() + "\n"


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
    for zsh and fish).
    """
    complete_var = complete_var or complete_var_for(prog_name)
    instruction = os.environ.get(complete_var)
    if not instruction:
        return
    action, _, shell = instruction.partition("_")
    comp_cls = SHELLS.get(shell)
    if comp_cls is None:
        click.echo(f"{prog_name} completes bash, zsh and fish, not {shell!r}", err=True)
        sys.exit(4)
    comp = comp_cls(cli, ctx_args, prog_name, complete_var)
    if action == "source":
        sys.stdout.write(source_text(comp))
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

"""Answering the shell: the program's side of the `_MQCTL_COMPLETE` protocol for bash, zsh and fish.

The scripts are in `mqctl.completion.scripts`; they pass the line in typer's variables
(`COMP_WORDS`/`COMP_CWORD` and `COMP_LINE`/`COMP_POINT` for bash, `_TYPER_COMPLETE_ARGS` for zsh
and fish), so scripts installed by earlier versions keep working. Here:

- each shell's reading of the line into the words before the cursor and the word under it;
- each shell's rendering of the candidates: an empty answer is no output at all;
- a parameter that wants the shell's own file names gets them (bash `compopt -o default`, zsh
  `_files`, fish's file completion); files listed by suffix use zsh's native `_files -g` and
  bash's `-o filenames` quoting; fish falls back to file names only for parameters that take paths.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping

from mqctl.completion.items import DIR, FILE, Candidate

DEFAULT_WORDBREAKS = " \t\n><=;|&(:"


def split_arg_string(line: str) -> list[str]:
    """Words as the shell would split them; an unclosed quote keeps what it holds so far."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        words.extend(lexer)
    except ValueError:
        words.append(lexer.token)
    return words


def wants_shell_files(items: list[Candidate]) -> str | None:
    for item in items:
        if item.type in (FILE, DIR):
            return item.type
    return None


def with_option_prefix(items: list[Candidate], incomplete: str) -> list[Candidate]:
    """For `--queue=ord`, zsh and fish match answers against the whole word: give them
    `--queue=orders`, not `orders` (bash replaces only the part after "=")."""
    option, equals, _ = incomplete.partition("=")
    if not (equals and option.startswith("-")):
        return items
    return [
        Candidate(option + equals + item.value, item.help, item.type, item.glob)
        if item.type not in (FILE, DIR)
        else item
        for item in items
    ]


def plain_help(text: str | None) -> str | None:
    """Help as one line of plain text (no rich markup escapes, no line breaks)."""
    return " ".join(text.replace("\\[", "[").split()) if text else None


# --- reading the line -----------------------------------------------------------------------


def words_from_args_variable(env: Mapping[str, str]) -> tuple[list[str], str]:
    """zsh and fish: `_TYPER_COMPLETE_ARGS` is the line up to the cursor."""
    line = env.get("_TYPER_COMPLETE_ARGS", "")
    words = split_arg_string(line)[1:]
    if words and not line.endswith(" "):
        return words[:-1], words[-1]
    return words, ""


class BashLine:
    """bash: from COMP_LINE when the script passes it (COMP_WORDS is split at ':' and '=')."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.replaced: str | None = None  # the text bash will replace (after the last break)

    def words(self) -> tuple[list[str], str]:
        line = self.env.get("COMP_LINE")
        if line is None:
            words = split_arg_string(self.env.get("COMP_WORDS", ""))
            cword = int(self.env.get("COMP_CWORD") or 0)
            return words[1:cword], words[cword] if cword < len(words) else ""
        line = line[: int(self.env.get("COMP_POINT") or len(line))]
        words = split_arg_string(line)
        breaks = self.env.get("COMP_WORDBREAKS", DEFAULT_WORDBREAKS)
        breaks = breaks.replace('"', "").replace("'", "")
        self.replaced = re.split(f"[{re.escape(breaks)}]", line)[-1] if breaks else line
        if words and line and not line[-1].isspace():
            return words[1:-1], words[-1]
        return words[1:], ""

    def as_replacement(self, value: str, incomplete: str) -> str:
        """Bash replaces only the text after the last word break (`orders:v` -> `v`): drop the
        part of the value typed before it, or bash would write it twice."""
        if self.replaced is None:
            return value
        typed = incomplete.partition("=")[2] if incomplete.startswith("-") else incomplete
        rest = self.replaced
        before = typed[: len(typed) - len(rest)] if typed.endswith(rest) else ""
        return value[len(before) :] if before and value.startswith(before) else value


# --- answering ------------------------------------------------------------------------------

# Bash inserts a plain answer as it stands: quote what the shell would otherwise split or expand.
_BASH_SPECIAL = re.compile(r"[^A-Za-z0-9_.,:@%/+=-]")


def bash_answer(items: list[Candidate], incomplete: str, line: BashLine) -> str:
    """First line: how the script treats the rest (`plain`, `paths`, or `files`)."""
    if wants_shell_files(items):
        return "files"
    if not items:
        return ""
    values = [line.as_replacement(item.value, incomplete) for item in items]
    if any(item.glob for item in items):
        # `compopt -o filenames`: bash quotes the names and adds "/" to directories itself.
        return "\n".join(["paths", *(value.rstrip("/") for value in values)])
    return "\n".join(["plain", *(_BASH_SPECIAL.sub(r"\\\g<0>", value) for value in values)])


def _zsh_escape(text: str) -> str:
    return (
        text.replace('"', '""')
        .replace("'", "''")
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace(":", r"\\:")
    )


def zsh_answer(items: list[Candidate], incomplete: str) -> str:
    items = with_option_prefix(items, incomplete)
    wanted = wants_shell_files(items)
    if wanted:
        return "_files -/" if wanted == DIR else "_files"
    glob = next((item.glob for item in items if item.glob), None)
    if glob:
        return f"_files -g '{glob}'"
    if not items:
        return ""
    listing = "\n".join(_zsh_item(item) for item in items)
    return f"_arguments '*: :(({listing}))'"


def _zsh_item(item: Candidate) -> str:
    help = plain_help(item.help)
    if help:
        return f'"{_zsh_escape(item.value)}":"{_zsh_escape(help)}"'
    return f'"{_zsh_escape(item.value)}"'


def fish_answer(items: list[Candidate], incomplete: str) -> tuple[str, bool]:
    """The answer, and whether fish should complete file names instead."""
    items = with_option_prefix(items, incomplete)
    if wants_shell_files(items) is not None:
        return "", True
    lines = []
    for item in items:
        # Each output line is one candidate: a help text wrapped onto two lines would be two.
        help = plain_help(item.help)
        lines.append(f"{item.value}\t{help}" if help else item.value)
    return "\n".join(lines), False


SUPPORTED = ("bash", "zsh", "fish")


def complete_var_for(prog_name: str) -> str:
    return f"_{prog_name}_COMPLETE".replace("-", "_").upper()


def environment() -> Mapping[str, str]:
    return os.environ

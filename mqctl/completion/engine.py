"""What the word under the cursor is, and its candidates, from the command tree typer builds.

The tree is read through the attributes every command object has (`params`, `name`; options'
`opts`, `secondary_opts`, `is_flag`, `multiple`; groups' `list_commands`/`get_command`): mqctl
needs nothing else of typer's completion, and loads only the commands on the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mqctl.completion.items import PLAIN, Candidate, Completer, Request

HELP_OPTIONS = ("--help", "-h")


@dataclass
class Level:
    """One command on the line and the option values given to it."""

    command: Any
    name: str
    given: dict[str, Any] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)


def is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def subcommands(command: Any) -> Iterator[tuple[str, Any]]:
    for name in command.list_commands(None):
        sub = command.get_command(None, name)
        if sub is not None and not getattr(sub, "hidden", False):
            yield name, sub


def options(command: Any) -> list[Any]:
    return [p for p in command.params if getattr(p, "param_type_name", "") == "option"]


def arguments(command: Any) -> list[Any]:
    return [p for p in command.params if getattr(p, "param_type_name", "") == "argument"]


def find_option(command: Any, word: str) -> Any | None:
    for param in options(command):
        if word in param.opts or word in param.secondary_opts:
            return param
    return None


def takes_value(param: Any) -> bool:
    return not getattr(param, "is_flag", False) and not getattr(param, "count", False)


def record(level: Level, param: Any, value: Any) -> None:
    if getattr(param, "multiple", False):
        level.given.setdefault(param.name, []).append(value)
    else:
        level.given[param.name] = value


def walk(root: Any, prog_name: str, args: list[str]) -> tuple[list[Level], Any | None]:
    """The commands the words name, with their values; and an option still waiting for one."""
    levels = [Level(root, prog_name)]
    pending: Any | None = None
    only_arguments = False
    for word in args:
        level = levels[-1]
        if pending is not None:
            record(level, pending, word)
            pending = None
            continue
        if word == "--":
            only_arguments = True
            continue
        if word.startswith("-") and len(word) > 1 and not only_arguments:
            name, equals, value = word.partition("=")
            param = find_option(level.command, name)
            if param is None:
                continue
            if not takes_value(param):
                record(level, param, name not in param.secondary_opts)
            elif equals:
                record(level, param, value)
            else:
                pending = param
            continue
        if is_group(level.command) and not level.arguments:
            sub = level.command.get_command(None, word)
            if sub is not None:
                levels.append(Level(sub, word))
                continue
        level.arguments.append(word)
    return levels, pending


def request_for(levels: list[Level]) -> Request:
    """Values typed at every level, the innermost winning (as the commands merge them)."""
    given: dict[str, Any] = {}
    for level in levels:
        for name, value in level.given.items():
            if value not in (None, []):
                given[name] = value
    return Request(path=tuple(level.name for level in levels), given=given)


def complete(
    root: Any,
    prog_name: str,
    args: list[str],
    incomplete: str,
    completer_for: Any,
) -> list[Candidate]:
    """Candidates for `incomplete` after the words `args`; `completer_for(param, path)` gives a
    parameter's completer (or None)."""
    levels, pending = walk(root, prog_name, args)
    level = levels[-1]
    request = request_for(levels)
    if pending is not None:
        return values_of(pending, request, incomplete, completer_for)
    if incomplete.startswith("-") and "=" in incomplete:
        name, _, value = incomplete.partition("=")
        param = find_option(level.command, name)
        if param is None or not takes_value(param):
            return []
        return values_of(param, request, value, completer_for)
    if incomplete.startswith("-"):
        return option_names(level, incomplete)
    if is_group(level.command) and not level.arguments:
        return [
            Candidate(name, help=short_help(sub))
            for name, sub in subcommands(level.command)
            if name.startswith(incomplete)
        ]
    argument = next_argument(level)
    if argument is None:
        return []
    return values_of(argument, request, incomplete, completer_for)


def next_argument(level: Level) -> Any | None:
    taken = len(level.arguments)
    for param in arguments(level.command):
        nargs = getattr(param, "nargs", 1)
        if nargs == -1:
            return param
        if taken < nargs:
            return param
        taken -= nargs
    return None


def option_names(level: Level, incomplete: str) -> list[Candidate]:
    found: list[Candidate] = []
    for param in options(level.command):
        if getattr(param, "hidden", False):
            continue
        if not getattr(param, "multiple", False) and param.name in level.given:
            continue  # given once already
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith(incomplete):
                found.append(Candidate(name, help=_one_line(getattr(param, "help", None))))
    found.extend(
        Candidate(name, help="Show this message and exit.")
        for name in HELP_OPTIONS
        if name.startswith(incomplete) and incomplete.startswith("--") == name.startswith("--")
    )
    return found


def values_of(param: Any, request: Request, incomplete: str, completer_for: Any) -> list[Candidate]:
    choices = choices_of(param)
    if choices:
        return [Candidate(choice) for choice in choices if choice.startswith(incomplete)]
    completer: Completer | None = completer_for(param, request.path)
    if completer is None:
        return []
    try:
        return completer(request, incomplete)
    except Exception:  # a failing completer completes nothing
        return []


def choices_of(param: Any) -> list[str]:
    """A choice parameter's choices, as its own `shell_complete` offers them (it needs no
    context for that); [] for any other parameter."""
    try:
        items = param.shell_complete(None, "")
    except Exception:
        return []
    return [str(item.value) for item in items if getattr(item, "type", "plain") == "plain"]


def short_help(command: Any) -> str | None:
    getter = getattr(command, "get_short_help_str", None)
    try:
        return _one_line(getter(limit=150)) if getter is not None else None
    except Exception:
        return None


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


__all__ = ["PLAIN", "complete"]

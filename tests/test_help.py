"""Every command, option and argument explains itself: help text, and an example where one helps.

The whole command tree typer builds is walked, so commands added later are covered without touching this file. Each
test reports every offender at once. The rules:

- every command and group has help text;
- every command (not group) shows an example of its own use: its full path (`mqctl topology apply`)
  appears in its help or epilog;
- every option and argument has help text;
- every option or argument that takes a value (not a flag) gives an example ("Example: ..." or
  "e.g. ..."), unless its values are a fixed choice, which --help lists already;
- `mqctl ... COMMAND --help` renders, exits 0 and shows the example.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from mqctl.cli import app, main
from mqctl.completion.engine import choices_of, is_group, subcommands

EXAMPLE = re.compile(r"\b(examples?:|e\.g\.|for example|mqctl\s)", re.IGNORECASE)


def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if is_group(command):
        for name, sub in sorted(subcommands(command)):
            yield from walk(sub, (*path, name))


def tree() -> list[tuple[tuple[str, ...], Any]]:
    return list(walk(typer.main.get_command(app), ("mqctl",)))


def describe(path: tuple[str, ...], param: Any | None = None) -> str:
    where = " ".join(path)
    if param is None:
        return where
    if param.param_type_name == "argument":
        return f"{where} {param.metavar or param.name.upper()} (argument)"
    return f"{where} {'/'.join(param.opts)}"


def help_of(param: Any) -> str:
    return str(getattr(param, "help", None) or "").strip()


def takes_value(param: Any) -> bool:
    if param.param_type_name == "option" and (param.is_flag or param.count):
        return False
    return not choices_of(param)


def visible_params(command: Any) -> list[Any]:
    return [p for p in command.params if not getattr(p, "hidden", False)]


def fail_with(offenders: list[str], what: str) -> None:
    if offenders:
        listing = "\n  ".join(offenders)
        pytest.fail(f"{len(offenders)} {what}:\n  {listing}", pytrace=False)


Tree = list[tuple[tuple[str, ...], Any]]


def commands_without_help(commands: Tree) -> list[str]:
    return [
        f"{describe(path)}: no help text (write a docstring or help=)"
        for path, command in commands
        if not (command.help or command.short_help or "").strip()
    ]


def commands_without_example(commands: Tree) -> list[str]:
    offenders = []
    for path, command in commands:
        if is_group(command):
            continue
        text = f"{command.help or ''}\n{command.epilog or ''}"
        if " ".join(path) not in " ".join(text.split()):
            offenders.append(
                f"{describe(path)}: no example (add 'Example: {' '.join(path)} ...' to its help)"
            )
    return offenders


def params_without_help(commands: Tree) -> list[str]:
    return [
        f"{describe(path, param)}: no help text"
        for path, command in commands
        for param in visible_params(command)
        if not help_of(param)
    ]


def values_without_example(commands: Tree) -> list[str]:
    return [
        f"{describe(path, param)}: no example value (add 'Example: ...' to its help)"
        for path, command in commands
        for param in visible_params(command)
        if takes_value(param) and help_of(param) and not EXAMPLE.search(help_of(param))
    ]


def test_every_command_has_help() -> None:
    fail_with(commands_without_help(tree()), "commands without help")


def test_every_command_shows_an_example() -> None:
    fail_with(commands_without_example(tree()), "commands without an example")


def test_every_option_and_argument_has_help() -> None:
    fail_with(params_without_help(tree()), "options or arguments without help")


def test_every_value_has_an_example() -> None:
    fail_with(values_without_example(tree()), "options or arguments without an example")


def test_every_help_page_renders(capsys: pytest.CaptureFixture[str]) -> None:
    offenders = []
    for path, command in tree():
        status = main([*path[1:], "--help"])
        out = capsys.readouterr().out
        if status != 0:
            offenders.append(f"{describe(path)} --help: exit {status}")
        elif not is_group(command) and not EXAMPLE.search(out):
            offenders.append(f"{describe(path)} --help: shows no example")
    fail_with(offenders, "help pages that fail")


# --- the checks themselves: nested commands are reached, and offenders are all named ---------

careless = typer.Typer(name="mqctl")
careless_group = typer.Typer()
careless.add_typer(careless_group, name="deep")


@careless.callback()
def _careless_root() -> None:
    """A root with help."""


@careless_group.command("quiet")
def _quiet(
    name: str = typer.Argument(...),
    count: int = typer.Option(1, "--count", help="How many."),
    loud: bool = typer.Option(False, "--loud", help="Shout."),
) -> None:
    pass


def test_the_checks_reach_nested_commands_and_name_every_offender() -> None:
    commands = list(walk(typer.main.get_command(careless), ("mqctl",)))
    assert [path for path, _ in commands] == [
        ("mqctl",),
        ("mqctl", "deep"),
        ("mqctl", "deep", "quiet"),
    ]
    assert commands_without_help(commands) == [
        "mqctl deep: no help text (write a docstring or help=)",
        "mqctl deep quiet: no help text (write a docstring or help=)",
    ]
    assert commands_without_example(commands) == [
        "mqctl deep quiet: no example (add 'Example: mqctl deep quiet ...' to its help)"
    ]
    assert params_without_help(commands) == ["mqctl deep quiet NAME (argument): no help text"]
    assert values_without_example(commands) == [
        "mqctl deep quiet --count: no example value (add 'Example: ...' to its help)"
    ]

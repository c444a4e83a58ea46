"""The one error boundary: exit statuses and one-line messages, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqctl import __version__
from mqctl.build import build_name
from mqctl.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mqctl {__version__} ({build_name()})\n"


def test_unknown_option_is_usage_error(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bogus"]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "mqctl: error: No such option: --bogus; see 'mqctl --help'\n"


def test_unknown_command_is_usage_error(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["frobnicate"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("mqctl: error: No such command 'frobnicate'")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_help_lists_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Exit statuses: 0 success, 1 operation failed" in out


def test_error_is_one_line_even_on_a_narrow_terminal(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mqctl import output

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(output, "color_enabled", lambda stream: True)
    assert main(["get", "--queue", "q", "--url", "amqp://guest:guest@127.0.0.1:1/%2f"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "connection refused by 127.0.0.1:1; is RabbitMQ running there?" in err


@pytest.mark.parametrize(
    ("args", "where"),
    [([], "mqctl"), (["topology"], "mqctl topology"), (["wire"], "mqctl wire")],
)
def test_a_group_without_its_command_shows_help_and_says_so(
    args: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not the empty `mqctl: error: ; see ...` of before: the help, then what was missing."""
    assert main(args) == 4
    captured = capsys.readouterr()
    assert f"Usage: {where} [OPTIONS] COMMAND [ARGS]..." in captured.out
    assert captured.err == f"mqctl: error: {where} needs a command; see '{where} --help'\n"


def test_connection_options_work_before_and_after_the_command(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's own option wins over the one before its name; both are read."""
    refused = "amqp://guest:guest@127.0.0.1:1/%2f"
    assert main(["--url", refused, "get", "-q", "q"]) == 3
    assert "127.0.0.1:1" in capsys.readouterr().err
    assert (
        main(["--url", "amqp://guest:guest@127.0.0.1:2/%2f", "get", "-q", "q", "--url", refused])
        == 3
    )
    assert "127.0.0.1:1" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["publish", "--help"], ["topology", "plan", "-h"], []])
def test_help_never_cuts_option_names_on_a_narrow_terminal(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    main(args)
    out = capsys.readouterr().out
    assert "…" not in out
    expected = {"publish": "--exchange", "topology": "--show-unchanged"}.get(
        args[0] if args else "", "--install-completion"
    )
    assert expected in out

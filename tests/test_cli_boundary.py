"""The one error boundary: exit statuses and one-line messages, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqctl import __version__
from mqctl.build import build_name
from tests.run import Run, run_in_process


def test_version() -> None:
    assert run_in_process("--version") == Run(0, f"mqctl {__version__} ({build_name()})\n", "")


def test_unknown_option_is_usage_error(clean_env: Path) -> None:
    assert run_in_process("--bogus") == Run(
        4, "", "mqctl: error: No such option: --bogus; see 'mqctl --help'\n"
    )


def test_unknown_command_is_usage_error(clean_env: Path) -> None:
    status, _, err = run_in_process("frobnicate")
    assert status == 4
    assert err.startswith("mqctl: error: No such command 'frobnicate'")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_help_lists_exit_statuses() -> None:
    status, out, _ = run_in_process("--help")
    assert status == 0
    assert "Exit statuses: 0 success, 1 operation failed" in out


def test_error_is_one_line_even_on_a_narrow_terminal(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mqctl import output

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(output, "color_enabled", lambda stream: True)
    status, _, err = run_in_process(
        "get", "--queue", "q", "--url", "amqp://guest:guest@127.0.0.1:1/%2f"
    )
    assert status == 3
    assert err.count("\n") == 1
    assert "connection refused by 127.0.0.1:1; is RabbitMQ running there?" in err


@pytest.mark.parametrize(
    ("args", "where"),
    [([], "mqctl"), (["topology"], "mqctl topology"), (["wire"], "mqctl wire")],
)
def test_a_group_without_its_command_shows_help_and_says_so(args: list[str], where: str) -> None:
    """Not the empty `mqctl: error: ; see ...` of before: the help, then what was missing."""
    status, out, err = run_in_process(*args)
    assert status == 4
    assert f"Usage: {where} [OPTIONS] COMMAND [ARGS]..." in out
    assert err == f"mqctl: error: {where} needs a command; see '{where} --help'\n"


def test_connection_options_work_before_and_after_the_command(clean_env: Path) -> None:
    """The command's own option wins over the one before its name; both are read."""
    refused = "amqp://guest:guest@127.0.0.1:1/%2f"
    status, _, err = run_in_process("--url", refused, "get", "-q", "q")
    assert status == 3 and "127.0.0.1:1" in err
    other = "amqp://guest:guest@127.0.0.1:2/%2f"
    status, _, err = run_in_process("--url", other, "get", "-q", "q", "--url", refused)
    assert status == 3 and "127.0.0.1:1" in err

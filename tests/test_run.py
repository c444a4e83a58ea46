"""The shared runner (tests/run.py): in this process and as a process, mqctl gives the same Run."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from mqctl import __version__
from mqctl.build import build_name
from tests.run import Run, process_env, run_in_process, run_process, without_mqctl_variables

ONE_QUEUE = "vhost: /\nqueues:\n  - name: mqctl-test-run-q\n"
Runner = Callable[..., Run]
BAD_OPTION = Run(4, "", "mqctl: error: No such option: --bogus; see 'mqctl --help'\n")


@pytest.mark.parametrize("runner", [run_in_process, run_process])
def test_status_out_and_err_are_kept_apart(runner: Runner) -> None:
    assert runner("--version") == Run(0, f"mqctl {__version__} ({build_name()})\n", "")
    assert runner("--bogus") == BAD_OPTION


@pytest.mark.parametrize("runner", [run_in_process, run_process])
def test_stdin_is_given_as_text_or_bytes(runner: Runner) -> None:
    expected = Run(0, "", "valid: 1 objects (1 queues)\n")
    assert runner("topology", "validate", "-", stdin=ONE_QUEUE) == expected
    assert runner("topology", "validate", "-", stdin=ONE_QUEUE.encode()) == expected


@pytest.mark.parametrize("runner", [run_in_process, run_process])
def test_env_is_laid_over_the_environment_and_put_back(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQCTL_URL", "amqp://guest:guest@127.0.0.1:1/%2f")
    refused = runner("get", "-q", "q")
    assert (refused.status, "127.0.0.1:1" in refused.err) == (3, True), refused
    bad = runner("get", "-q", "q", env={"MQCTL_URL": "nonsense://x"})
    assert bad.status == 4 and bad.err_lines[0].startswith("mqctl: error: "), bad
    assert os.environ["MQCTL_URL"] == "amqp://guest:guest@127.0.0.1:1/%2f"
    hidden = runner("get", "-q", "q", env=without_mqctl_variables())
    assert "127.0.0.1:1" not in hidden.err
    assert os.environ["MQCTL_URL"] == "amqp://guest:guest@127.0.0.1:1/%2f"


def test_a_child_gets_no_colour_and_the_variables_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQCTL_VHOST", "v")
    env = process_env({"MQCTL_VHOST": None, "EXTRA": "1"})
    assert (env["NO_COLOR"], env["EXTRA"], "MQCTL_VHOST" in env) == ("1", "1", False)

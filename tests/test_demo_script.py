"""scripts/demo as a new user sees it (issue 19): what it echoes can be pasted, the apply reads as
applied, the closing hint works in a new shell; scripts/setup lets apt speak."""

from __future__ import annotations

import re
import shlex
import subprocess
import uuid

import pytest
import requests

from tests.conftest import API_URL, AUTH
from tests.run import ROOT, process_env, without_mqctl_variables


def test_setup_never_silences_apt() -> None:
    apt_lines = [
        line
        for line in (ROOT / "scripts" / "setup").read_text().splitlines()
        if line.strip().startswith("apt-get ")
    ]
    assert apt_lines
    for line in apt_lines:
        assert "-qq" not in line and "/dev/null" not in line, line


@pytest.mark.broker
def test_the_demo(broker: str) -> None:
    vhost = f"mqctl-test-demo-{uuid.uuid4().hex[:8]}"
    env = process_env({**without_mqctl_variables(), "MQCTL_DEMO_VHOST": vhost})
    try:
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "demo")],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=600,
            check=False,
        )
    finally:
        requests.delete(f"{API_URL}/api/vhosts/{vhost}", auth=AUTH, timeout=30)
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()

    # The apply's own line, then the plan that finds nothing left: no "Plan: 62 to create" between.
    applied = next(i for i, line in enumerate(err) if line.startswith("applied: "))
    assert re.fullmatch(r"applied: \d+ created, 0 updated, 0 recreated, 0 deleted", err[applied])
    assert err[applied + 1] == "plan again: nothing is left to change"
    assert err[applied + 2] == "$ mqctl topology plan topologies/"
    assert re.search(
        r"^Plan: 0 to create, 0 to update, 0 in conflict, 0 to delete, \d+ unchanged\.$",
        result.stdout,
        re.MULTILINE,
    )
    assert "to create" not in "\n".join(err)

    # Every echoed command splits back into the words that were run.
    echoed = [shlex.split(line[2:]) for line in err if line.startswith("$ ")]
    publish = next(words for words in echoed if "--message-id" in words)
    assert publish[-2:] == ["--body", '{"level": "error", "msg": "payment gateway timeout"}']
    unroutable = next(words for words in echoed if "no-such-key" in words)
    assert unroutable[-2:] == ["--body", "caught by the alternate exchange"]

    # The closing hint says how to reach mqctl from a new shell.
    venv_bin = ROOT / ".venv" / "bin"
    assert f'    export PATH="{venv_bin}:$PATH"      # or: source {venv_bin}/activate' in err

"""The two builds of the hot paths (wire read, topology loading): compiled (mypyc) and pure
Python, the same sources.

`mqctl --version` names the build in use (a contract); MQCTL_PURE_PYTHON=1 makes the sources
load even where the compiled modules exist; and both builds give the same output, byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mqctl.build import COMPILED, COMPILED_NAME, compiled_state

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def run(args: list[str], pure: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQCTL_")}
    if pure:
        env["MQCTL_PURE_PYTHON"] = "1"
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )


def loaded_from(pure: bool) -> list[str]:
    code = (
        "import importlib\n"
        f"for name in {list(COMPILED)!r}:\n"
        "    print(importlib.import_module('mqctl.' + name).__file__)"
    )
    return run(["-c", code], pure).stdout.split()


def test_version_names_the_pure_python_build_when_asked() -> None:
    shown = run(["-m", "mqctl", "--version"], pure=True).stdout
    assert shown.endswith("(pure Python: MQCTL_PURE_PYTHON=1)\n"), shown


def test_pure_python_runs_the_sources() -> None:
    assert all(path.endswith(".py") for path in loaded_from(pure=True))


def test_version_names_the_build_in_use() -> None:
    name = run(["-c", "from mqctl.build import build_name; print(build_name())"], pure=False)
    in_use = name.stdout.strip()  # without MQCTL_PURE_PYTHON, whatever this process has
    assert run(["-m", "mqctl", "--version"], pure=False).stdout.endswith(f"({in_use})\n")
    compiled = [path for path in loaded_from(pure=False) if not path.endswith(".py")]
    # the compiled set is used whole or not at all
    assert len(compiled) == (len(COMPILED) if in_use == COMPILED_NAME else 0)


@pytest.mark.skipif(compiled_state() != "fresh", reason="no up-to-date compiled build here")
@pytest.mark.parametrize("capture", sorted(p.name for p in DATA.glob("*.pcap*")))
@pytest.mark.parametrize("view", [["-f", "jsonl", "--body", "full"], ["-v"], ["--summary"]])
def test_both_builds_show_the_same(capture: str, view: list[str]) -> None:
    args = ["-m", "mqctl", "wire", "read", str(DATA / capture), *view]
    assert run(args, pure=False).stdout == run(args, pure=True).stdout


INVALID_TOPOLOGY = """\
vhost: v
queues:
  - name: q
    type: quorum
    max_priority: 3
    durable: no
  - name: 0x10
    message_ttl: -1
exchanges:
  - name: amq.x
    type: nope
bindings:
  - from: ""
    to_queue: q
    to_exchange: e
"""


@pytest.mark.skipif(compiled_state() != "fresh", reason="no up-to-date compiled build here")
@pytest.mark.parametrize("case", ["examples", "invalid.yaml", "invalid.json"])
def test_both_builds_validate_the_same(case: str, tmp_path: Path) -> None:
    if case == "examples":
        target = ROOT / "topologies"
    else:
        target = tmp_path / case
        text = INVALID_TOPOLOGY
        if case.endswith(".json"):
            text = '{"queues": [{"name": "q", "vhost": "v", "arguments": {"x-max-priority": 0}}]}'
        target.write_text(text)
    args = ["-m", "mqctl", "topology", "validate", str(target)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQCTL_")}
    results = []
    for pure in (False, True):
        run_env = {**env, "MQCTL_PURE_PYTHON": "1"} if pure else env
        done = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, env=run_env, cwd=ROOT
        )
        results.append((done.returncode, done.stdout, done.stderr))
    assert results[0] == results[1]
    assert results[0][0] == (0 if case == "examples" else 4), results[0]

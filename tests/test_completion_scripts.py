"""The completion scripts: generated, checked for drift, installed, and working in the real shells."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from mqctl.cli import main
from tests.completion_helpers import base_env
from tests.conftest import API_URL, AUTH, ROOT
from tests.run import CONSOLE_SCRIPT
from tests.shell_driver import ShellSession, available

COMMITTED = {
    "bash": ROOT / "completions" / "mqctl.bash",
    "zsh": ROOT / "completions" / "_mqctl",
    "fish": ROOT / "completions" / "mqctl.fish",
}
INSTALLED = {
    "bash": ".bash_completions/mqctl.sh",
    "zsh": ".zfunc/_mqctl",
    "fish": ".config/fish/completions/mqctl.fish",
}
SHELLS = list(COMMITTED)


def test_the_committed_scripts_are_what_the_program_generates() -> None:
    result = subprocess.run(
        [str(ROOT / "tools" / "check-completions")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_drift_check_fails_on_a_changed_script(tmp_path: Path) -> None:
    for tree in ("tools", "completions", "mqctl"):
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=shutil.ignore_patterns("__pycache__"))
    script = tmp_path / "completions" / "mqctl.fish"
    script.write_text(script.read_text().replace("--no-files", "--no-fils"))
    result = subprocess.run(
        [sys.executable, str(tmp_path / "tools" / "gen_completions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "-complete --command mqctl --no-fils" in result.stdout
    assert "completions/mqctl.fish (generated)" in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_show_completion_prints_the_committed_script(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--show-completion", shell]) == 0
    assert capsys.readouterr().out == COMMITTED[shell].read_text()


@pytest.mark.parametrize("shell", SHELLS)
def test_install_completion_writes_the_script_once(
    shell: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for _ in range(2):
        assert main(["--install-completion", shell]) == 0
    assert (tmp_path / INSTALLED[shell]).read_text() == COMMITTED[shell].read_text()
    assert (
        f"{shell} completion installed in {tmp_path / INSTALLED[shell]}" in capsys.readouterr().err
    )
    rc_file = {"bash": ".bashrc", "zsh": ".zshrc"}.get(shell)
    if rc_file:
        lines = (tmp_path / rc_file).read_text().splitlines()
        assert len(lines) == 1  # the loading line, written once
        assert "mqctl" in lines[0] or "zfunc" in lines[0]


def test_install_completion_finds_the_shell_it_runs_in(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "PATH": f"{Path(CONSOLE_SCRIPT[0]).parent}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", "-c", "mqctl --install-completion"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / INSTALLED["bash"]).read_text() == COMMITTED["bash"].read_text()
    assert main(["--install-completion", "tcsh"]) == 4


# --- in the shells themselves -----------------------------------------------------------------


@pytest.fixture
def own_vhost(broker: str, unique: str) -> Iterator[str]:
    name = f"{unique}-tab"
    url = f"{API_URL}/api/vhosts/{quote(name, safe='')}"
    requests.put(url, auth=AUTH, timeout=10).raise_for_status()
    yield name
    requests.delete(url, auth=AUTH, timeout=30)


def _session(shell: str, home: Path) -> ShellSession:
    """The shell with the test app as `mqctl`, the script loaded the way --install-completion does."""
    bin_dir = home / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "mqctl"
    wrapper.write_text(
        f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests" / "completion_app.py"} "$@"\n'
    )
    wrapper.chmod(0o755)
    work = home / "work"
    (work / "conf").mkdir(parents=True)
    for name in ("topology.yaml", "notes.txt", "conf/prod.yaml"):
        (work / name).write_text("x")
    env = {**base_env(home), "PATH": f"{bin_dir}:/usr/bin:/bin", "TERM": "dumb"}
    session = ShellSession(shell, env, work)
    script = home / INSTALLED[shell]
    script.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(COMMITTED[shell], script)
    if shell == "bash":
        session.run(f"source {script}")
    elif shell == "zsh":  # autoloaded from $fpath: the first TAB must already complete
        session.run(
            f"PS1='> '; fpath+={script.parent}; autoload -Uz compinit; compinit -u -d {home}/zcd"
        )
    else:  # fish --no-config does not read ~/.config/fish/completions/: load it by hand
        session.run(f"source {script}")
    return session


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_in_the_real_shell(shell: str, tmp_path: Path, own_vhost: str) -> None:
    if not available(shell):
        # scripts/setup installs every shell: under scripts/test (and so CI) this must not happen
        assert not os.environ.get("MQCTL_TEST_SET_UP") and not os.environ.get("CI"), (
            f"{shell} is missing though scripts/setup installs it"
        )
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    session = _session(shell, tmp_path)
    try:
        # a name from the broker; a file listed by suffix (notes.txt is not offered)
        line = f"mqctl --api {API_URL} --vhost {own_vhost[:-4]}"
        session.complete(line, expect=f"--vhost {own_vhost} ")
        session.complete("mqctl topology apply top", expect=r"apply topology\.yaml ")
        if shell == "bash":
            # bash's usual fallback would offer file names when the broker is unreachable
            down = session.complete("mqctl consume --api http://127.0.0.1:1 --queue top")
            assert "topology.yaml" not in down
            session.complete("mqctl topology apply conf/", expect=r"apply conf/prod\.yaml ")
    finally:
        session.close()

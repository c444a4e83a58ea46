"""Run mqctl's completion the way the shell scripts do: environment variables, a subprocess."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from tests.run import MQCTL, ROOT, run_process

TEST_APP = (sys.executable, str(ROOT / "tests" / "completion_app.py"))


@dataclass
class Answer:
    stdout: str
    stderr: str
    returncode: int
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def base_env(home: Path) -> dict[str, str]:
    """No MQCTL_* from the caller, a config and cache of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MQCTL_", "_"))}
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        HOME=str(home),
        NO_COLOR="1",
    )
    return env


def protocol_env(
    shell: str, line: str, fish_action: str = "get-args", words_only: bool = False
) -> dict[str, str]:
    """The variables each script sets for the program, for the command line `line`.

    bash: COMP_WORDS/COMP_CWORD (typer's protocol; `words_only` sends just these) and COMP_LINE/
    COMP_POINT, which mqctl's script adds.
    """
    if shell == "bash":
        words = line.split()
        if line.endswith(" "):
            words.append("")
        # The bash script joins COMP_WORDS with IFS=newline.
        env = {
            "_MQCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": "\n".join(words),
            "COMP_CWORD": str(len(words) - 1),
        }
        if not words_only:
            env.update(COMP_LINE=line, COMP_POINT=str(len(line)))
        return env
    env = {"_MQCTL_COMPLETE": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": line}
    if shell == "fish":
        env["_TYPER_COMPLETE_FISH_ACTION"] = fish_action
    return env


def complete(
    shell: str,
    line: str,
    env: dict[str, str],
    program: Sequence[str] = MQCTL,
    cwd: Path | None = None,
    fish_action: str = "get-args",
    words_only: bool = False,
) -> Answer:
    # Exactly `env` and the protocol's variables: nothing else of this process's environment.
    exact: dict[str, str | None] = dict.fromkeys(os.environ)
    exact.update({**env, **protocol_env(shell, line, fish_action, words_only)})
    started = time.monotonic()
    run = run_process(program=program, env=exact, cwd=cwd or ROOT, timeout=60)
    return Answer(run.out, run.err, run.status, time.monotonic() - started)


def candidates(shell: str, answer: Answer) -> list[str]:
    """The values offered, whatever the shell's format."""
    lines = answer.lines
    if shell == "bash":  # as bash will read them: escapes undone
        values = lines[1:] if lines and lines[0] in ("plain", "paths") else []
        return [re.sub(r"\\(.)", r"\1", value) for value in values]
    if shell == "fish":
        return [line.split("\t", 1)[0] for line in lines]
    # zsh: _arguments '*: :(("value":"help"\n"value2"))'
    text = answer.stdout
    if not text.startswith("_arguments"):
        return []
    body = text[text.index("((") + 2 : text.rindex("))")]
    values = []
    for entry in body.splitlines():
        value = entry.split('":"', 1)[0].strip('"')
        values.append(value.replace("\\\\:", ":").replace('""', '"'))
    return values


def complete_here(
    shell: str,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    app: typer.Typer | None = None,
    fish_action: str = "get-args",
) -> Answer:
    """The same protocol in this process (no interpreter start-up): for answers without a broker."""
    from mqctl.cli import app as mqctl_app
    from mqctl.completion.protocol import answer_completion_request

    for key, value in protocol_env(shell, line, fish_action).items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    started = time.monotonic()
    status = answer_completion_request(lambda: typer.main.get_command(app or mqctl_app))
    seconds = time.monotonic() - started
    captured = capsys.readouterr()
    return Answer(captured.out, captured.err, 1 if status is None else status, seconds)

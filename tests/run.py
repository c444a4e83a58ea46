"""The one way the tests (and benchmarks/) run mqctl: in this process, or as a child process.

In this process: `mqctl.cli.main(args)` with its own stdin, stdout and stderr (what pytest's capsys
would give it: not terminals, bytes under a text layer) and environment variables laid over the
current ones for the length of the call. As a process: `python -m mqctl ARGS` from the repository's
root with the same rules for the environment. Both hand back a `Run`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MQCTL: tuple[str, ...] = (sys.executable, "-m", "mqctl")
# The console script `pip install` writes, for tests of the installed entry point itself.
CONSOLE_SCRIPT: tuple[str, ...] = (str(Path(sys.executable).parent / "mqctl"),)

# Variables for the run: a value of None removes the variable.
Env = Mapping[str, str | None]


class Run(NamedTuple):
    """What one run of mqctl left: its exit status and everything it wrote (a tuple, so that
    `status, out, err = run` and `run == (0, "", "...")` read as they did before)."""

    status: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def without_mqctl_variables() -> dict[str, str | None]:
    """An `env` that hides every MQCTL_* variable of the current environment."""
    return {key: None for key in os.environ if key.startswith("MQCTL_")}


def process_env(env: Env | None = None) -> dict[str, str]:
    """A child's environment: the current one, NO_COLOR=1, then `env` laid over it."""
    result = {**os.environ, "NO_COLOR": "1"}
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


@contextmanager
def environment(env: Env | None) -> Iterator[None]:
    """`env` laid over os.environ, the old values put back afterwards."""
    saved = {key: os.environ.get(key) for key in env or {}}
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _stream(data: bytes = b"") -> io.TextIOWrapper:
    # As pytest's capture: text over bytes (`.buffer` works), written through, not a terminal.
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="", write_through=True)


def _written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def run_in_process(*args: str, env: Env | None = None, stdin: str | bytes | None = None) -> Run:
    """`mqctl ARGS` through mqctl.cli.main in this process.

    stdin None leaves sys.stdin as it is (under pytest: a stand-in that refuses to be read).
    """
    from mqctl.cli import main

    out, err = _stream(), _stream()
    given = (
        _stream(stdin.encode() if isinstance(stdin, str) else stdin) if stdin is not None else None
    )
    saved = sys.stdin, sys.stdout, sys.stderr
    try:
        with environment(env):
            if given is not None:
                sys.stdin = given
            sys.stdout, sys.stderr = out, err
            status = main(list(args))
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Run(status, _written(out), _written(err))


def command(*args: str, program: Sequence[str] = MQCTL) -> list[str]:
    """The argv of `python -m mqctl ARGS` (for a shell line or a process of one's own)."""
    return [*program, *args]


def run_process(
    *args: str,
    env: Env | None = None,
    stdin: str | bytes | None = None,
    timeout: float | None = 120,
    program: Sequence[str] = MQCTL,
    cwd: Path = ROOT,
    stdout: int | IO[Any] | None = subprocess.PIPE,
) -> Run:
    """`python -m mqctl ARGS` as a child process, run to its end (killed after `timeout` s).

    stdin None gives the child /dev/null; `stdout` may send its output elsewhere (a file, a pipe
    without a reader), and `out` is then empty.
    """
    done = subprocess.run(
        command(*args, program=program),
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=process_env(env),
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, (done.stdout or b"").decode("utf-8"), done.stderr.decode("utf-8"))


def start_process(
    *args: str,
    env: Env | None = None,
    program: Sequence[str] = MQCTL,
    cwd: Path = ROOT,
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """`python -m mqctl ARGS` started and left running (a proxy, a sniffer, a consumer to
    signal); the caller waits for it."""
    return subprocess.Popen(
        command(*args, program=program),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        env=process_env(env),
    )

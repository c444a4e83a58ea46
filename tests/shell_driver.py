"""Drive a real interactive shell in a pseudo-terminal: type a line, press TAB, read what it shows.

Used to prove the generated completion scripts work in bash, zsh and fish themselves, not only the
program's side of the protocol.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

# Each shell starts clean (no user rc files) and loads only the script under test.
SHELL_ARGS = {
    "bash": ["bash", "--norc", "--noprofile", "-i"],
    "zsh": ["zsh", "-f", "-i"],
    "fish": ["fish", "--no-config", "-i"],
}
MARK = "READY-4f1d"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r|\x07")


def available(shell: str) -> bool:
    return shutil.which(shell) is not None


class ShellSession:
    def __init__(self, shell: str, env: Mapping[str, str], cwd: Path) -> None:
        self.shell = shell
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the shell
            os.chdir(cwd)
            os.execvpe(SHELL_ARGS[shell][0], SHELL_ARGS[shell], dict(env))
        self.buffer = ""

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def read_until(self, pattern: str, timeout: float) -> str:
        """Everything read until `pattern` (a regex) shows up, ANSI codes removed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            clean = _ANSI.sub("", self.buffer)
            if re.search(pattern, clean):
                return clean
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.buffer += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    break
        raise TimeoutError(f"{self.shell}: {pattern!r} not seen in {_ANSI.sub('', self.buffer)!r}")

    def run(self, command: str, timeout: float = 20.0) -> None:
        """Run a set-up command and wait for it to finish."""
        self.buffer = ""
        self.send(f"{command}; echo {MARK[:5]}''{MARK[5:]}\r")
        self.read_until(MARK, timeout)

    def complete(self, line: str, expect: str | None = None, wait: float = 1.5) -> str:
        """Type `line`, press TAB once, return the screen text from the typed line on.

        With `expect` (a regex), return as soon as it shows and fail if it does not within 15 s;
        without, return after `wait` seconds: for checking what is not offered.
        """
        self.buffer = ""
        self.send(line)
        self._drain(0.2)
        self.send("\t")
        deadline = time.monotonic() + (15.0 if expect else wait)
        seen = False
        while time.monotonic() < deadline and not seen:
            self._drain(0.05)
            seen = bool(expect and re.search(expect, _ANSI.sub("", self.buffer)))
        shown = _ANSI.sub("", self.buffer)
        self.send("\x03")  # Ctrl-C: drop the line; then wait for the shell to take input again
        time.sleep(0.3)
        self.run("true")
        if expect and not seen:
            raise AssertionError(f"{self.shell}: {expect!r} not shown after TAB: {shown!r}")
        return shown

    def _drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            try:
                self.buffer += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                return

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.fd)

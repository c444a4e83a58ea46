"""Diagnostics on stderr (info, warnings, the error line), progress, and the rich consoles.

No ANSI codes when the stream is not a terminal or NO_COLOR is set; diagnostics are scrubbed of
secrets.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

from mqctl.redact import scrub

if TYPE_CHECKING:
    from rich.console import Console


# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.


# A console's width when it writes into a file or a pipe: no line is folded.
UNLIMITED_WIDTH = 100_000


def color_enabled(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def console_for(stream: TextIO) -> Console:
    from rich.console import Console

    color = color_enabled(stream)
    return Console(
        file=stream,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        emoji=False,
    )


def stdout_console() -> Console:
    return console_for(sys.stdout)


def stderr_console() -> Console:
    return console_for(sys.stderr)


# --- diagnostics (stderr) -------------------------------------------------------------------


def info(message: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(scrub(message)))


def warn(message: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(f"warning: {scrub(message)}", style="yellow"))


def error_line(message: str) -> None:
    """The one line the error boundary prints."""
    from rich.text import Text

    # soft_wrap: one line, whatever the terminal's width (scripts and people grep it)
    stderr_console().print(
        Text(f"mqctl: error: {scrub(message)}", style="bold red"), soft_wrap=True
    )


# --- progress (stderr, terminals only) ------------------------------------------------------


class Advance(Protocol):
    def __call__(self, steps: int = 1) -> None: ...


@contextmanager
def progress(total: int | None, description: str) -> Iterator[Advance]:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    if not color_enabled(sys.stderr):

        def silent(steps: int = 1) -> None:
            return None

        yield silent
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance


def silence_stdout() -> None:
    """Point stdout at /dev/null so that nothing more (not even at exit) goes into a dead pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def write_text(text: str) -> None:
    """Data (a dot or mermaid graph, a document) to stdout exactly as given."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()

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


# The control codes rich's Text drops (bell, backspace, vertical tab, form feed, carriage return).
_DROPPED_CONTROLS = dict.fromkeys((7, 8, 11, 12, 13))


def plain_text(text: str) -> str | None:
    """`text` as a colourless, unwrapped rich console writes it (a test compares the two):
    without the control codes rich drops. None for text with a tab: rich expands tabs by the
    width of what comes before on the screen (wide and zero-width characters), which it knows."""
    if "\t" in text:
        return None
    return text.translate(_DROPPED_CONTROLS)


def _diagnostic(text: str, style: str, soft_wrap: bool = False) -> None:
    """One diagnostic on stderr: through rich on a terminal (colour), as plain text otherwise,
    which costs no import of rich (a command that prints only this line starts faster)."""
    stream = sys.stderr
    plain = None if color_enabled(stream) else plain_text(text)
    if plain is not None:
        stream.write(plain + "\n")
        stream.flush()
        return
    from rich.text import Text

    stderr_console().print(Text(text, style=style), soft_wrap=soft_wrap)


def info(message: str) -> None:
    _diagnostic(scrub(message), "")


def warn(message: str) -> None:
    _diagnostic(f"warning: {scrub(message)}", "yellow")


def error_line(message: str) -> None:
    """The one line the error boundary prints."""
    # soft_wrap: one line, whatever the terminal's width (scripts and people grep it)
    _diagnostic(f"mqctl: error: {scrub(message)}", "bold red", soft_wrap=True)


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

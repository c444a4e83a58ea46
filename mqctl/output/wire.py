"""The wire views' writer (mqctl wire read / proxy / sniff): styled parts, flushed per frame live."""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO, TextIO, cast

if TYPE_CHECKING:
    pass

# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.

from mqctl.output.console import (
    color_enabled,
    console_for,
)

# --- the wire views (mqctl wire read / proxy / sniff) ---------------------------------------

WIRE_CONN_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_magenta", "bright_cyan")


def wire_conn_style(conn_id: int) -> str:
    """The colour of a connection in the wire views (one per connection, cycling)."""
    return WIRE_CONN_STYLES[(conn_id - 1) % len(WIRE_CONN_STYLES)]


class WireWriter:
    """Writes the wire views' lines as (text, style) parts: styled on a terminal, plain otherwise.

    Plain output skips rich entirely: a capture can hold hundreds of thousands of frames.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.live = live  # flush every line (live sources piped into jq, less, ...)
        self._console = console_for(self.stream) if color_enabled(self.stream) else None

    def line(self, parts: Sequence[tuple[str, str | None]]) -> None:
        if self._console is None:
            self.stream.write("".join([text for text, _style in parts]) + "\n")
            if self.live:
                self.stream.flush()
            return
        from rich.text import Text

        text = Text()
        for chunk, style in parts:
            text.append(chunk, style=style or "")
        self._console.print(text, soft_wrap=True)

    def raw(self, text: str) -> None:
        """Already formatted text (jsonl), written as it is."""
        self.stream.write(text)
        if self.live:
            self.stream.flush()

    def raw_bytes(self, data: bytes) -> None:
        """Already formatted UTF-8 text (a capture's jsonl), written to the stream's binary buffer
        when the stream would encode it to the same bytes (no decode and re-encode of each line);
        else as text."""
        buffer = self._binary
        if buffer is None:
            self.raw(data.decode())
            return
        self.stream.flush()  # what went in as text comes out first
        buffer.write(data)
        if self.live:
            buffer.flush()

    @property
    def _binary(self) -> BinaryIO | None:
        """The stream's binary buffer, if text written to the stream is UTF-8 and newlines stay
        newlines (POSIX): then bytes written there are what the text would have been."""
        buffer = getattr(self.stream, "buffer", None)
        encoding = getattr(self.stream, "encoding", None)
        if buffer is None or not encoding or os.linesep != "\n":
            return None
        try:
            if codecs.lookup(encoding).name != "utf-8":
                return None
        except LookupError:
            return None
        return cast(BinaryIO, buffer)

    def flush(self) -> None:
        self.stream.flush()

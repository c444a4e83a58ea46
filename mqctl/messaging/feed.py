"""`publish --input`: JSON lines read while publishing, in bounded memory.

A reader thread turns lines into messages and puts them in a bounded queue; the publisher takes
them on its I/O loop, and the thread wakes the loop when it had been waiting. So the first
message goes out as soon as its line arrives, a slow producer (`consume ... | publish --input -`)
is followed line by line, and at most `capacity` parsed messages wait in memory whatever the
input's size. The file is opened before anything connects (a missing file is bad input), and
read only once the connection is up and the exchange checked.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mqctl.errors import BadInput, MqctlError
from mqctl.messaging.message import OutgoingMessage, Overrides, message_from_record

EMPTY = object()  # nothing yet: the reader will wake the loop
END = object()  # the input ended


class InputFeed:
    def __init__(self, path: str, overrides: Overrides, capacity: int = 2000) -> None:
        self.name = "<stdin>" if path == "-" else path
        self.overrides = overrides
        self.lines_read = 0
        self.error: MqctlError | None = None  # bad input at some line: the feed ends there
        self.ended = False
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self._waiting = False
        self._wake: Callable[[], None] = lambda: None
        self._file = self._open(path)

    def _open(self, path: str) -> IO[bytes]:
        if path == "-":
            return sys.stdin.buffer
        try:
            return Path(path).expanduser().open("rb")
        except OSError as exc:
            raise BadInput(
                f"--input: cannot read {self.name}: {exc.strerror or exc}",
                "give a JSON-lines file (the output of `mqctl consume --format jsonl`)",
            ) from None

    def start(self, wake: Callable[[], None]) -> None:
        """Begin reading; `wake` (thread-safe) is called when a message arrives after a wait."""
        self._wake = wake
        threading.Thread(target=self._read, name="mqctl-input", daemon=True).start()

    def take(self) -> Any:
        """The next message, EMPTY when none is ready yet, or END."""
        if self.ended:
            return END
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            self._waiting = True
            try:  # a message may have arrived just before `_waiting` was set
                item = self._queue.get_nowait()
            except queue.Empty:
                return EMPTY
        if item is END:
            self.ended = True
        return item

    def _put(self, item: Any) -> None:
        self._queue.put(item)
        if self._waiting:
            self._waiting = False
            self._wake()

    def _read(self) -> None:
        try:
            for number, raw in enumerate(self._file, 1):
                self.lines_read = number
                message = parse_line(raw, f"{self.name}:{number}", self.overrides)
                if message is not None:
                    self._put(message)
        except MqctlError as exc:
            self.error = exc
        except OSError as exc:
            self.error = BadInput(f"--input: reading {self.name} failed: {exc.strerror or exc}")
        finally:
            self._put(END)


def parse_line(raw: bytes, where: str, overrides: Overrides) -> OutgoingMessage | None:
    """One input line -> a validated message (None for a blank line); BadInput says why not."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{where}: not UTF-8", "one JSON object per line, UTF-8") from None
    if not line.strip():
        return None
    try:
        return message_from_record(json.loads(line), where, overrides)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: not valid JSON ({exc.msg})", "one JSON object per line") from None
    except RecursionError:
        raise BadInput(
            f"{where}: nested too deeply", "headers can nest tables and arrays, but not that far"
        ) from None

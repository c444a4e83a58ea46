"""Ctrl-C and SIGTERM as a request to stop, handled where the state is consistent.

A KeyboardInterrupt can surface between any two bytecodes, say between a publish and the
bookkeeping that remembers it. Inside `stop_requests`, the first SIGINT or SIGTERM only calls
`on_stop` (which should schedule the stop on the I/O loop); a second one raises
KeyboardInterrupt as usual, for a user who does not want to wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNAL_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
_requested = threading.Event()


def stop_requested() -> bool:
    """Whether a stop was asked for: a blocking wait (a pipe nobody reads) checks this."""
    return _requested.is_set()


@contextmanager
def stop_requests(on_stop: Callable[[int], None]) -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM calls `on_stop(signum)`; outside threads of
    the main one, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        _requested.set()
        on_stop(signum)

    _requested.clear()
    previous: dict[int, Any] = {}
    for signum in SIGNAL_NAMES:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

"""Objects of a JSON array read as the bytes arrive, so a response of 100,000 queues never sits
in memory whole.

The array's elements must be objects (every management API list is). Each chunk is appended to a
buffer and `json.JSONDecoder.raw_decode` (the C decoder) takes complete objects off its front; an
object cut by the chunk's end fails to decode and waits for the next chunk, so at most one
element per chunk is decoded twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

_DECODER = json.JSONDecoder()
_SEPARATORS = " \t\r\n,"


class NotAnArray(ValueError):
    """The document is not a JSON array of objects; `head` is where it starts."""

    def __init__(self, head: str) -> None:
        super().__init__(f"expected a JSON array of objects, got {head[:60]!r}")
        self.head = head


def iter_json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Each element of the JSON array whose bytes are `chunks`, in order."""
    text = ""
    started = False
    finished = False
    pending = b""  # a UTF-8 sequence cut by the chunk boundary
    for chunk in chunks:
        if finished:
            break
        data = pending + chunk
        cut = _incomplete_tail(data)
        pending = data[len(data) - cut :] if cut else b""
        text += data[: len(data) - cut].decode("utf-8")
        pos = 0
        if not started:
            pos = _skip(text, 0, " \t\r\n\ufeff")
            if pos == len(text):
                text = ""
                continue
            if text[pos] != "[":
                raise NotAnArray(text[pos:])
            started = True
            pos += 1
        while True:
            pos = _skip(text, pos, _SEPARATORS)
            if pos == len(text):
                break
            if text[pos] == "]":
                finished = True
                break
            if text[pos] != "{":
                raise NotAnArray(text[pos:])
            try:
                item, end = _DECODER.raw_decode(text, pos)
            except json.JSONDecodeError:
                break  # cut by the chunk's end: wait for more
            yield item
            pos = end
        text = text[pos:]
    if not started:
        raise NotAnArray(text)
    if not finished:
        raise ValueError("the JSON array ended before its closing ']'")


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _incomplete_tail(data: bytes) -> int:
    """How many bytes at the end of `data` begin a UTF-8 sequence that is not complete yet."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: look further back
            continue
        if byte & 0x80 == 0:
            return 0
        needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
        return back if needed > back else 0
    return 0

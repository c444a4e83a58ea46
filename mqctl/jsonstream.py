"""Objects of a JSON array read as the bytes arrive, so a response of 100,000 queues never sits
in memory whole.

The array's elements must be objects (every management API list is). Each chunk is appended to a
buffer, and the complete objects at its front are decoded in one `json.loads` of the text up to
the last `},` (the C decoder over a whole chunk: a third of the time of one call an object).
That text, taken from an object's start, parses as a list only when the `}` closes a top-level
object; when it falls inside a string or a nested object the parse fails and the objects are
taken one at a time with `json.JSONDecoder.raw_decode`. An object cut by the chunk's end waits
for the next chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

_DECODER = json.JSONDecoder()
_SEPARATORS = " \t\r\n,"
_BATCH_TRIES = 3


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
        batching = True  # until a batch fails in this chunk (then each object on its own)
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
            if batching:
                batch, end = _complete_objects(text, pos)
                if batch:
                    yield from batch
                    pos = end
                    continue
                batching = False
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


def _complete_objects(text: str, pos: int) -> tuple[list[Any], int]:
    """The objects from `pos` (an object's start) to the last `},` that closes one, in one
    decode, and where they end; ([], pos) when no such `},` is found in a few tries."""
    cut = len(text)
    for _ in range(_BATCH_TRIES):
        cut = text.rfind("},", pos, cut)
        if cut < 0:
            break
        try:
            batch = json.loads("[" + text[pos : cut + 1] + "]")
        except json.JSONDecodeError:
            continue  # that `}` closed something nested or sits in a string: look further back
        if all(isinstance(item, dict) for item in batch):
            return batch, cut + 2
        break  # something other than an object: the one-at-a-time path says what
    return [], pos


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

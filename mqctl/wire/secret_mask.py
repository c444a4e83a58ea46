"""Passwords masked in a client's byte stream as it goes by, every length kept.

`wire proxy --write FILE --mask-passwords` records what a client sent with the secret bytes of
Connection.StartOk's SASL response (the password of PLAIN, the whole response of other mechanisms)
and of Connection.UpdateSecret overwritten with '*': the frames, the TCP sequence numbers and the
capture stay valid, and `wire read` or tshark read it as before. Frames of other classes pass at
once; a Connection frame is held back only until it is complete.
"""

from __future__ import annotations

import struct

PROTOCOL_HEADER_SIZE = 8
FRAME_HEADER = struct.Struct(">BHI")  # type, channel, payload size
METHOD_FRAME = 1
CONNECTION_CLASS = 10
START_OK, UPDATE_SECRET = 11, 70
MAX_HELD = 1 << 20  # a Connection frame this large is no real one: let it through
MASK_BYTE = ord("*")


class ClientSecretMask:
    """Feed the client's bytes in order; `feed` returns what may be written now (masked)."""

    def __init__(self) -> None:
        self._held = bytearray()
        self._header_left = PROTOCOL_HEADER_SIZE
        self._through = 0  # bytes of the current frame that pass unchanged
        self.lost = False  # bytes went by unseen: frame boundaries are unknown from here on

    def skipped(self) -> None:
        """Bytes of this stream were not observed: pass everything through from now on."""
        self.lost = True

    def feed(self, data: bytes) -> bytes:
        if self.lost:
            return self.flush() + data
        held = self._held
        held += data
        out = bytearray()
        while held:
            if self._header_left or self._through:
                take = min(len(held), self._header_left or self._through)
                out += held[:take]
                del held[:take]
                if self._header_left:
                    self._header_left -= take
                else:
                    self._through -= take
                continue
            if len(held) < FRAME_HEADER.size:
                break
            kind, _channel, size = FRAME_HEADER.unpack_from(held)
            whole = FRAME_HEADER.size + size + 1  # the frame-end octet
            if kind != METHOD_FRAME or size > MAX_HELD:
                self._through = whole
                continue
            if len(held) < FRAME_HEADER.size + 4:
                break
            class_id, method_id = struct.unpack_from(">HH", held, FRAME_HEADER.size)
            if class_id != CONNECTION_CLASS:
                self._through = whole
                continue
            if len(held) < whole:
                break
            frame = held[:whole]
            _mask_frame(frame, method_id)
            out += frame
            del held[:whole]
        return bytes(out)

    def flush(self) -> bytes:
        """What is still held (the stream ended mid-frame), as it is."""
        rest = bytes(self._held)
        self._held.clear()
        return rest


def _mask_frame(frame: bytearray, method_id: int) -> None:
    """Overwrite the secret bytes of a StartOk or UpdateSecret frame in place."""
    offset = FRAME_HEADER.size + 4
    try:
        if method_id == START_OK:
            (table,) = struct.unpack_from(">I", frame, offset)
            offset += 4 + table  # client-properties
            mechanism = bytes(frame[offset + 1 : offset + 1 + frame[offset]])
            offset += 1 + frame[offset]
            _mask_longstr(frame, offset, plain=mechanism == b"PLAIN")
        elif method_id == UPDATE_SECRET:
            _mask_longstr(frame, offset, plain=False)
    except (struct.error, IndexError):
        pass  # a malformed frame: the broker will refuse it; nothing sane to mask


def _mask_longstr(frame: bytearray, offset: int, plain: bool) -> None:
    (size,) = struct.unpack_from(">I", frame, offset)
    start, end = offset + 4, min(offset + 4 + size, len(frame) - 1)
    first = frame.find(b"\0", start, end) if plain else -1
    second = frame.find(b"\0", first + 1, end) if first >= 0 else -1
    if second >= 0:  # PLAIN's "\0user\0password": the user name stays readable
        start = second + 1
    frame[start:end] = bytes([MASK_BYTE]) * (end - start)

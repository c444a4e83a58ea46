"""The sans-IO AMQP 0-9-1 stream decoder: feed it bytes in pieces of any size, take frames out.

    decoder = FrameDecoder()
    decoder.feed(chunk)                   # bytes, bytearray or memoryview; any size
    for event in decoder:                 # frames, a ProtocolHeader, DecodeProblems
        ...                               # stops when the decoder needs more data
    problem = decoder.finish()            # at end of stream: what was left over, if anything

``next_event()`` returns one event or ``NEED_DATA``; incomplete input is never an exception. The
decoder checks each frame's end octet (0xCE) and size (``max_frame_size``: 1 MiB until it sees
Connection.Tune or TuneOk, then the negotiated ``frame_max``). On garbage, a bad frame end, an
oversize or unknown frame, or after ``gap()`` it reports a :class:`DecodeProblem` and
resynchronises: it scans for the next plausible frame (known type, sane channel and size, a known
method or content class, the frame-end octet where it belongs), then reports the bytes it skipped.
``FrameDecoder(resync=True)`` starts that way, for captures that begin mid-connection.

A stream that starts with ``AMQP`` starts with a protocol header (the client's side); the decoder
reports it as a :class:`ProtocolHeader`. After a header for another protocol (AMQP 1.0, 0-10) the
rest of the stream is not 0-9-1: it is counted and reported once by ``finish()``.

Nothing here does I/O: capture readers, the proxy and the sniffer feed bytes in.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from typing import Final, Literal

from mqctl.wire.frames import (
    BAD_FRAME_END,
    FOREIGN_PROTOCOL,
    GAP,
    OVERSIZE_FRAME,
    RESYNC,
    TRUNCATED,
    UNKNOWN_FRAME_TYPE,
    BodyFrame,
    CutFrame,
    DecodeProblem,
    Event,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
)
from mqctl.wire.methods import NAMES_BY_KEY, PROPERTIES
from mqctl.wire.values import u32_at

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "MALFORMED_FRAME",
    "NEED_DATA",
    "FrameDecoder",
    "NeedData",
]

#: frame-size limit (whole frame, 8 bytes of framing included) until Connection.Tune is seen
DEFAULT_MAX_FRAME_SIZE: Final = 1 << 20
#: limit used when Tune says frame_max = 0 ("no limit")
UNLIMITED_FRAME_SIZE: Final = (1 << 32) + 7
#: a well-delimited frame too short for its type (a method frame under 4 bytes, a header under 14)
MALFORMED_FRAME: Final = "malformed-frame"


class NeedData(enum.Enum):
    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA

# Module constants are Final: compiled, a Final is a C static or an inlined literal, any other
# global a dictionary look-up per use.
_HEADER: Final = struct.Struct(">BHI")
_IDS: Final = struct.Struct(">HH")
_CONTENT: Final = struct.Struct(">HHQH")
_TUNE: Final = struct.Struct(">HIH")
_new: Final = tuple.__new__  # builds a NamedTuple without the keyword-handling __new__: 2x faster
#: True when this module runs compiled by mypyc (see tools/build_mypyc.py)
_NATIVE: Final = not __file__.endswith(".py")

# decoder states
_START: Final = 0
_FRAMES: Final = 1
_RESYNC: Final = 2
_FOREIGN: Final = 3
_CONNECTION_TUNE: Final = (10 << 16) | 30
_CONNECTION_TUNE_OK: Final = (10 << 16) | 31
_TUNES: Final = frozenset((_CONNECTION_TUNE, _CONNECTION_TUNE_OK))
_FRAME_KINDS: Final = {2: "ContentHeader", 3: "ContentBody", 8: "Heartbeat"}
_FRAME_KINDS_ALL: Final = frozenset((1, 2, 3, 8))


class FrameDecoder:
    """Turns a byte stream (one direction of one connection) into frames and problems."""

    def __init__(
        self,
        *,
        resync: bool = False,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        offset: int = 0,
    ) -> None:
        """``resync``: the stream may start mid-frame (a capture begun mid-connection).
        ``max_frame_size``: frame-size limit until Tune is seen. ``offset``: stream offset of the
        first byte fed (e.g. the TCP sequence distance from the SYN), reported in events."""
        self._buf = b""
        self._mv = memoryview(self._buf)
        self._pos = 0
        self._base = offset  # stream offset of self._buf[0]
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._queued: list[Event] = []
        self._state = _START
        self._start_resync = resync
        self._skip_from = offset  # where the current resync scan started
        self._foreign = 0
        self._discard = 0  # bytes still to come of a cut frame, skipped as they arrive
        self.max_frame_size = max_frame_size
        self.channel_max = 65535

    # --- configuration ----------------------------------------------------------------------

    @property
    def max_frame_size(self) -> int:
        """Largest accepted frame, framing included; set from Connection.Tune/TuneOk when seen."""
        return self._max_payload + 8

    @max_frame_size.setter
    def max_frame_size(self, value: int) -> None:
        if value < 8:
            raise ValueError(f"max_frame_size must be at least 8, got {value}")
        self._max_payload = value - 8

    @property
    def offset(self) -> int:
        """Stream offset of the next byte not yet consumed."""
        return self._base + self._pos

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet turned into events."""
        return len(self._buf) - self._pos + self._pending_len

    # --- input ------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes. ``bytes`` are kept without copying (frames point into them)."""
        if not data:
            return
        if self._discard:  # the rest of a cut frame, after a gap (see gap)
            if len(data) <= self._discard:
                self._discard -= len(data)
                self._base += len(data)
                return
            self._base += self._discard
            data = data[self._discard :]
            self._discard = 0
        if type(data) is not bytes:
            data = bytes(data)  # the caller may reuse a bytearray; frames must not change under us
        if self._pos >= len(self._buf) and not self._pending:
            self._base += len(self._buf)
            self._buf = data
            self._mv = memoryview(data)
            self._pos = 0
        else:
            self._pending.append(data)
            self._pending_len += len(data)

    def gap(self, lost: int | None = None) -> None:
        """The source lost bytes here (a missing TCP segment, a packet cut by the snap length).

        ``lost``: how many bytes went missing, when known, so later offsets stay true. When the
        bytes buffered are the start of one frame whose header is whole, that frame is reported as
        a :class:`CutFrame`; and when its size puts its end at or after the end of the gap, the
        next frame boundary is known: the decoder skips the rest of the cut frame as it arrives
        and goes on in step, without scanning. Otherwise a ``GAP`` problem counts the bytes lost
        (and any buffered bytes dropped) and the decoder resynchronises on the next plausible
        frame.
        """
        end = self._base + len(self._buf) + self._pending_len
        if self._discard:  # inside a cut frame whose end is known: nothing is buffered
            if lost is not None and lost <= self._discard:
                self._discard -= lost
                self._base = end + lost
                return
            frame_end = end + self._discard
            self._discard = 0
            after = None if lost is None else lost - (frame_end - end)
            self._resync_after_gap(frame_end, 0, after)
            return
        if (
            self._state == _START
            and not self._start_resync
            and self._fill(1)
            and self._buf[self._pos] != 0x41  # not a protocol header: frames from the start
        ):
            self._state = _FRAMES
        if self._state == _FRAMES and not self._queued and self._cut_frame(end, lost):
            return
        if self._state == _RESYNC and lost is not None and self._cut_candidate(end, lost):
            return
        dropped_from = self._skip_from if self._state == _RESYNC else self.offset
        self._resync_after_gap(dropped_from, end - dropped_from, lost)

    def _cut_frame(self, end: int, lost: int | None) -> bool:
        """Report the incomplete frame before a gap at stream offset ``end`` as a CutFrame, and
        jump past it when the gap ends inside it; False when no frame header is whole here."""
        present = end - self.offset
        if present < 7 or not self._fill(7):
            return False
        buf, pos = self._buf, self._pos
        kind, channel, size = _HEADER.unpack_from(buf, pos)
        if kind not in _FRAME_KINDS_ALL or size > self._max_payload or present >= 8 + size:
            return False  # not a frame start, or more than one frame buffered: the careful path
        self._fill(present)
        buf, pos = self._buf, self._pos
        frame_offset = self._base + pos
        frame_end = frame_offset + 8 + size
        resume = end + (lost or 0)
        jump = lost is not None and frame_end >= resume
        missing = (lost if jump else frame_end - end) or 0
        payload = memoryview(bytes(buf[pos + 7 : pos + present]))
        self._queued.append(CutFrame(frame_offset, kind, channel, size, payload, missing))
        self._clear(resume)
        if jump:
            self._discard = frame_end - resume
        else:
            after = None if lost is None else resume - frame_end
            self._resync_after_gap(frame_end, 0, after, reported=True)
        return True

    def _cut_candidate(self, end: int, lost: int) -> bool:
        """While resynchronising: the scan stopped at a plausible frame whose end the gap took
        (a packet cut by the snap length starts a frame more often than not). Take it as a cut
        frame rather than drop it, reporting the bytes skipped before it."""
        present = end - self.offset
        if present < 11 or not self._fill(11):
            return False
        buf, pos = self._buf, self._pos
        kind, channel, size = _HEADER.unpack_from(buf, pos)
        if present >= 8 + size or not self._plausible(kind, channel, size, buf, pos):
            return False
        offset = self._base + pos
        skipped = offset - self._skip_from
        if skipped:
            self._queued.append(
                DecodeProblem(
                    self._skip_from,
                    RESYNC,
                    f"skipped {skipped} byte(s) to a frame at offset {offset}, cut by a gap",
                    skipped,
                )
            )
        self._state = _FRAMES
        if self._cut_frame(end, lost):
            return True
        self._state = _RESYNC  # pragma: no cover - _cut_frame accepts what was checked here
        return False

    def _clear(self, base: int) -> None:
        self._base = base
        self._buf = b""
        self._mv = memoryview(self._buf)
        self._pos = 0
        self._pending = []
        self._pending_len = 0

    def _resync_after_gap(
        self, dropped_from: int, dropped: int, lost: int | None, reported: bool = False
    ) -> None:
        """A GAP problem for `dropped` buffered bytes from `dropped_from` and `lost` missing ones
        after them, then a scan for the next frame (the stream resumes after the lost bytes)."""
        resume = dropped_from + dropped + (lost or 0)
        self._clear(resume)
        if self._state == _FOREIGN:
            self._foreign += dropped + (lost or 0)
            return
        what = f"{lost} byte(s) lost" if lost is not None else "bytes lost"
        if reported:
            what += " after a cut frame"
        if dropped:
            what += f"; dropped {dropped} buffered byte(s) of an incomplete frame"
        self._queued.append(DecodeProblem(dropped_from, GAP, what, dropped + max(lost or 0, 0)))
        self._state = _RESYNC
        self._skip_from = resume

    def finish(self) -> DecodeProblem | None:
        """End of stream: a problem for any bytes left over (an incomplete frame, a resync scan).

        Take every event first: events still queued are dropped.
        """
        end = self._base + len(self._buf) + self._pending_len
        state = self._state
        if state == _FOREIGN:
            count = self._foreign + self.buffered
            problem = DecodeProblem(
                end - count,
                FOREIGN_PROTOCOL,
                f"{count} byte(s) of another protocol after its protocol header",
                count,
            )
        elif state == _RESYNC:
            count = end - self._skip_from
            problem = DecodeProblem(
                self._skip_from,
                RESYNC,
                f"skipped {count} byte(s): no plausible frame before the end of the stream",
                count,
            )
        else:
            count = self.buffered
            problem = DecodeProblem(
                self.offset,
                TRUNCATED,
                f"the stream ended inside a frame ({count} byte(s) left)",
                count,
            )
        self._base = end
        self._buf = b""
        self._mv = memoryview(self._buf)
        self._pos = 0
        self._pending = []
        self._pending_len = 0
        self._queued.clear()
        self._foreign = 0
        self._discard = 0  # the stream ended inside a cut frame: it was reported at its gap
        self._skip_from = end
        return problem if count else None

    # --- output -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        """Every event available now; stops (without raising) when more data is needed.

        Ordinary frames are split right here in one tight loop (the hot path); anything that
        needs care -- a problem, a heartbeat, a Connection method, missing bytes -- goes through
        ``next_event()``. Feeding or calling ``gap()`` while iterating is fine.
        """
        header = _HEADER.unpack_from
        ids = _IDS.unpack_from
        content = _CONTENT.unpack_from
        new = _new
        native = _NATIVE
        # locals, not module globals: a global is a dict look-up per use, compiled or not
        body_frame, method_frame, header_frame = BodyFrame, MethodFrame, HeaderFrame
        # typed, so that mypyc keeps them as machine integers (struct hands back objects)
        kind: int
        channel: int
        size: int
        class_id: int
        method_id: int
        weight: int
        body_size: int
        flags: int
        while True:
            if self._state == _FRAMES and not self._queued:
                buf = self._buf
                view = self._mv
                base = self._base
                pos = self._pos
                n = len(buf)
                max_payload = self._max_payload
                while pos + 8 <= n:
                    if native:  # compiled: indexing bytes is a machine load, a struct call is not
                        kind = buf[pos]
                        channel = (buf[pos + 1] << 8) | buf[pos + 2]
                        size = (
                            (buf[pos + 3] << 24)
                            | (buf[pos + 4] << 16)
                            | (buf[pos + 5] << 8)
                            | buf[pos + 6]
                        )
                    else:  # pure Python: one struct call beats seven index operations
                        kind, channel, size = header(buf, pos)
                    end = pos + 7 + size
                    if end >= n or size > max_payload or buf[end] != 206:
                        break
                    start = pos + 7
                    if kind == 3:
                        frame: Event = new(body_frame, (base + pos, channel, size, view[start:end]))
                    elif kind == 1 and size >= 4:
                        if native:
                            class_id = (buf[start] << 8) | buf[start + 1]
                            method_id = (buf[start + 2] << 8) | buf[start + 3]
                        else:
                            class_id, method_id = ids(buf, start)
                        if class_id == 10:  # Connection: Tune may change the size limit
                            break
                        frame = new(
                            method_frame,
                            (base + pos, channel, size, class_id, method_id, buf[start:end]),
                        )
                    elif kind == 2 and size >= 14:
                        if native:
                            class_id = (buf[start] << 8) | buf[start + 1]
                            weight = (buf[start + 2] << 8) | buf[start + 3]
                            body_size = (u32_at(buf, start + 4) << 32) | u32_at(buf, start + 8)
                            flags = (buf[start + 12] << 8) | buf[start + 13]
                        else:
                            class_id, weight, body_size, flags = content(buf, start)
                        frame = new(
                            header_frame,
                            (
                                base + pos,
                                channel,
                                size,
                                class_id,
                                weight,
                                body_size,
                                flags,
                                buf[start:end],
                            ),
                        )
                    else:
                        break
                    pos = end + 1
                    self._pos = pos
                    yield frame
                    if self._pos != pos:
                        break  # the caller took events, reported a gap or finished meanwhile
                    # (a feed() that replaced the buffer only happens once pos == n: the loop ends)
                if pos == n and self._pos == pos and not self._pending:
                    return  # every byte fed is split (a packet's worth, often): needs more data
            event = self.next_event()
            if event is NEED_DATA:
                return
            yield event

    def events(self) -> list[Event]:
        """Every event available now, as a list (the fastest way to take them)."""
        return list(self)

    def next_event(self) -> Event | Literal[NeedData.NEED_DATA]:
        """The next frame, protocol header or problem; ``NEED_DATA`` when the input runs out."""
        buf = self._buf
        pos = self._pos
        if self._state == _FRAMES and len(buf) - pos >= 8 and not self._queued:
            kind, channel, size = _HEADER.unpack_from(buf, pos)
            end = pos + 7 + size
            if end < len(buf) and size <= self._max_payload and buf[end] == 206:
                if kind == 3:
                    self._pos = end + 1
                    return _new(
                        BodyFrame, (self._base + pos, channel, size, self._mv[pos + 7 : end])
                    )
                if kind == 1 and size >= 4:
                    self._pos = end + 1
                    class_id, method_id = _IDS.unpack_from(buf, pos + 7)
                    frame = _new(
                        MethodFrame,
                        (
                            self._base + pos,
                            channel,
                            size,
                            class_id,
                            method_id,
                            buf[pos + 7 : end],
                        ),
                    )
                    if class_id == 10 and (method_id == 30 or method_id == 31):
                        self._tuned(frame)
                    return frame
                if kind == 2 and size >= 14:
                    self._pos = end + 1
                    return _new(
                        HeaderFrame,
                        (
                            self._base + pos,
                            channel,
                            size,
                            *_CONTENT.unpack_from(buf, pos + 7),
                            buf[pos + 7 : end],
                        ),
                    )
        return self._slow_next()

    def frame_names(self) -> list[str]:
        """Split every complete frame available now and name it, decoding nothing else.

        Method frames give ``Class.Method``; others ``ContentHeader``, ``ContentBody`` or
        ``Heartbeat``. Stops before anything unusual (a problem, a protocol header, Tune, a short
        or unknown frame, missing data): call ``next_event()`` then, and this again after it.
        This is the fast path for counting (``mqctl wire read --summary``).
        """
        names: list[str] = []
        if self._state != _FRAMES or self._queued:
            return names
        buf = self._buf
        pos = self._pos
        limit = len(buf) - 11  # room for a method frame's ids
        max_payload = self._max_payload
        by_key = NAMES_BY_KEY
        kinds = _FRAME_KINDS
        unpack = _HEADER_AND_IDS.unpack_from
        append = names.append
        while pos <= limit:
            kind, _channel, size, key = unpack(buf, pos)
            end = pos + 7 + size
            if end >= len(buf) or size > max_payload or buf[end] != 206:
                break
            if kind == 1:
                name = by_key.get(key)
                if name is None or size < 4 or key in _TUNES:
                    break
                append(name)
            else:
                other = kinds.get(kind)
                if other is None or (kind == 2 and size < 14):
                    break
                append(other)
            pos = end + 1
        self._pos = pos
        return names

    # --- the careful path -------------------------------------------------------------------

    def _tuned(self, frame: MethodFrame) -> None:
        if frame.size == 12:
            channel_max, frame_max, _heartbeat = _TUNE.unpack_from(frame.payload, 4)
            if frame_max == 0:  # "no limit"
                self._max_payload = UNLIMITED_FRAME_SIZE - 8
            elif frame_max >= 8:
                self._max_payload = frame_max - 8
            self.channel_max = channel_max or 65535

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes contiguous at ``_pos`` if they have arrived; False if not."""
        have = len(self._buf) - self._pos
        if have >= need:
            return True
        if have + self._pending_len < need:
            return False
        merged = b"".join([self._buf[self._pos :], *self._pending])
        self._base += self._pos
        self._buf = merged
        self._mv = memoryview(merged)
        self._pos = 0
        self._pending = []
        self._pending_len = 0
        return True

    def _slow_next(self) -> Event | Literal[NeedData.NEED_DATA]:
        if self._queued:
            return self._queued.pop(0)
        state = self._state
        if state == _FRAMES:
            return self._next_frame()
        if state == _START:
            return self._start()
        if state == _RESYNC:
            return self._resync()
        # foreign protocol: swallow and count
        self._foreign += self.buffered
        self._base += len(self._buf) + self._pending_len
        self._buf = b""
        self._mv = memoryview(self._buf)
        self._pos = 0
        self._pending = []
        self._pending_len = 0
        return NEED_DATA

    def _start(self) -> Event | Literal[NeedData.NEED_DATA]:
        if not self._fill(1):
            return NEED_DATA
        if self._buf[self._pos] != 0x41:  # "A": a frame, not a protocol header
            self._state = _RESYNC if self._start_resync else _FRAMES
            return self._slow_next()
        if not self._fill(8):
            return NEED_DATA
        raw = self._buf[self._pos : self._pos + 8]
        if not raw.startswith(b"AMQP"):
            self._state = _RESYNC if self._start_resync else _FRAMES
            return self._slow_next()
        header = ProtocolHeader(self._base + self._pos, raw)
        self._pos += 8
        self._state = _FRAMES if header.is_amqp091 else _FOREIGN
        return header

    def _next_frame(self) -> Event | Literal[NeedData.NEED_DATA]:
        if not self._fill(7):
            return NEED_DATA
        buf = self._buf
        pos = self._pos
        kind, channel, size = _HEADER.unpack_from(buf, pos)
        offset = self._base + pos
        if kind not in (1, 2, 3, 8):
            return self._lost_sync(
                DecodeProblem(offset, UNKNOWN_FRAME_TYPE, f"unknown frame type {kind}")
            )
        if size > self._max_payload:
            return self._lost_sync(
                DecodeProblem(
                    offset,
                    OVERSIZE_FRAME,
                    f"frame size {size + 8} is above the maximum {self._max_payload + 8}",
                )
            )
        if not self._fill(8 + size):
            return NEED_DATA
        buf = self._buf
        pos = self._pos
        end = pos + 7 + size
        if buf[end] != 206:
            return self._lost_sync(
                DecodeProblem(
                    offset,
                    BAD_FRAME_END,
                    f"frame end octet is 0x{buf[end]:02x}, not 0xce, after a type-{kind} frame"
                    f" of {size} byte(s)",
                )
            )
        self._pos = end + 1
        if kind == 1:
            if size < 4:
                return DecodeProblem(
                    offset, MALFORMED_FRAME, f"method frame of {size} byte(s)", size + 8
                )
            class_id, method_id = _IDS.unpack_from(buf, pos + 7)
            frame = MethodFrame(offset, channel, size, class_id, method_id, buf[pos + 7 : end])
            if class_id == 10 and (method_id == 30 or method_id == 31):
                self._tuned(frame)
            return frame
        if kind == 2:
            if size < 14:
                return DecodeProblem(
                    offset, MALFORMED_FRAME, f"content header frame of {size} byte(s)", size + 8
                )
            class_id, weight, body_size, flags = _CONTENT.unpack_from(buf, pos + 7)
            return HeaderFrame(
                offset, channel, size, class_id, weight, body_size, flags, buf[pos + 7 : end]
            )
        payload = self._mv[pos + 7 : end]
        if kind == 3:
            return BodyFrame(offset, channel, size, payload)
        return HeartbeatFrame(offset, channel, size, payload)

    def _lost_sync(self, problem: DecodeProblem) -> DecodeProblem:
        """Report ``problem`` and start scanning one byte further on."""
        self._pos += 1
        self._state = _RESYNC
        self._skip_from = problem.offset
        return problem

    def _plausible(self, kind: int, channel: int, size: int, buf: bytes, pos: int) -> bool:
        """Could a frame start at ``pos``? (Its end octet is checked by the caller.)"""
        if size > self._max_payload or channel > self.channel_max:
            return False
        if kind == 1:
            if size < 4:
                return False
            key = (buf[pos + 7] << 24) | (buf[pos + 8] << 16) | (buf[pos + 9] << 8) | buf[pos + 10]
            return key in NAMES_BY_KEY and (key >> 16 == 10) == (channel == 0)
        if kind == 2:
            return (
                size >= 14 and channel != 0 and ((buf[pos + 7] << 8) | buf[pos + 8]) in PROPERTIES
            )
        if kind == 3:
            return channel != 0
        return channel == 0 and size == 0  # heartbeat

    def _resync(self) -> Event | Literal[NeedData.NEED_DATA]:
        while True:
            buf = self._buf
            pos = self._pos
            n = len(buf)
            wait_for = 11  # enough to judge any candidate's header and method ids
            while pos + 11 <= n:
                kind = buf[pos]
                if kind == 1 or kind == 2 or kind == 3 or kind == 8:
                    kind, channel, size = _HEADER.unpack_from(buf, pos)
                    if self._plausible(kind, channel, size, buf, pos):
                        end = pos + 7 + size
                        if end >= n:
                            wait_for = 8 + size  # judge it when its end octet is here
                            break
                        if buf[end] == 206:
                            return self._resynced(pos)
                pos += 1
            self._pos = pos
            # fewer than wait_for bytes at pos: merge what has arrived, or ask for more
            if not self._fill(wait_for):
                return NEED_DATA

    def _resynced(self, pos: int) -> DecodeProblem:
        self._pos = pos
        self._state = _FRAMES
        offset = self._base + pos
        skipped = offset - self._skip_from
        return DecodeProblem(
            self._skip_from,
            RESYNC,
            f"skipped {skipped} byte(s) to the next plausible frame at offset {offset}",
            skipped,
        )


_HEADER_AND_IDS: Final = struct.Struct(">BHII")  # type, channel, size, (class_id << 16) | method_id

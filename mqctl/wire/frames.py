"""The codec's value objects: frames, the protocol header and decode problems.

Frames are immutable ``NamedTuple``s (a frozen slotted dataclass costs five times as much to build,
and the decoder builds one per frame). Body and heartbeat frames hold their payload as a
``memoryview`` into the bytes that were fed: no copy of bodies. Keep such a frame, keep its buffer
alive; ``bytes(frame.payload)`` detaches it. Method and content header frames hold ``bytes`` of
their own: they are small and decoded from bytes, so the copy costs less than a view would.

Arguments and properties are decoded on demand: ``frame.args`` / ``frame.properties`` decode each
time they are read (the objects are immutable, so nothing is cached: read once, keep the dict).
Decoding raises :class:`FrameError` carrying a :class:`DecodeProblem`; ``args_or_problem()`` /
``properties_or_problem()`` return the problem instead.

Value mapping (see :mod:`mqctl.wire.values`): bit -> bool; octet/short/long/longlong -> int;
shortstr/longstr -> str, or bytes when not valid UTF-8; timestamp -> timezone-aware UTC datetime
(``TimestampSeconds`` when out of datetime's range); table -> dict whose values keep their field
type (``Int8``, ``Float32``, ... from :mod:`mqctl.wire.fieldtypes`), so the decoded values
re-encode to the same bytes; field arrays -> list; decimal -> Decimal; void -> None.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from mqctl.wire import _spec
from mqctl.wire.dispatch import NATIVE as _NATIVE
from mqctl.wire.dispatch import content_properties as _native_properties
from mqctl.wire.methods import (
    CLASS_NAMES,
    METHODS_BY_KEY,
    NAMES_BY_KEY,
    PROPERTIES,
    MethodSpec,
    method_name,
)
from mqctl.wire.properties import COMPILED as _COMPILED
from mqctl.wire.properties import property_decoder
from mqctl.wire.values import CodecError

__all__ = [
    "BAD_ARGUMENTS",
    "BAD_FRAME_END",
    "BAD_PROPERTIES",
    "DECODE_ERRORS",
    "FOREIGN_PROTOCOL",
    "FRAME_TYPE_NAMES",
    "GAP",
    "OVERSIZE_FRAME",
    "RESYNC",
    "TRUNCATED",
    "UNKNOWN_FRAME_TYPE",
    "BodyFrame",
    "CutFrame",
    "DecodeProblem",
    "Event",
    "Frame",
    "FrameError",
    "HeaderFrame",
    "HeartbeatFrame",
    "MethodFrame",
    "ProtocolHeader",
]

# DecodeProblem kinds
BAD_FRAME_END = "bad-frame-end"  # the octet after the payload is not 0xCE
OVERSIZE_FRAME = "oversize-frame"  # size above the negotiated (or default) maximum
UNKNOWN_FRAME_TYPE = "unknown-frame-type"  # type octet not 1, 2, 3 or 8
RESYNC = "resync"  # bytes skipped while looking for the next plausible frame
GAP = "gap"  # the source reported lost bytes (a missing TCP segment)
TRUNCATED = "truncated"  # the stream ended inside a frame
FOREIGN_PROTOCOL = "foreign-protocol"  # bytes after a protocol header that is not AMQP 0-9-1
BAD_ARGUMENTS = "bad-arguments"  # a method frame's arguments do not decode
BAD_PROPERTIES = "bad-properties"  # a content header's properties do not decode

AMQP_0_9_1 = b"AMQP\x00\x00\x09\x01"
_DECODERS = _spec.DECODERS
# what a decoder raises on malformed input (truncation shows up as IndexError / struct.error)
DECODE_ERRORS = (CodecError, IndexError, struct.error, RecursionError)
_FRAME_HEADER = struct.Struct(">BHI")
_CONTENT_HEADER = struct.Struct(">HHQH")

# the protocol headers other AMQP versions send, with what they mean
_KNOWN_HEADERS = {
    b"AMQP\x00\x01\x00\x00": "AMQP 1.0",
    b"AMQP\x02\x01\x00\x00": "AMQP 1.0 TLS negotiation",
    b"AMQP\x03\x01\x00\x00": "AMQP 1.0 SASL negotiation",
    b"AMQP\x01\x01\x00\x09": "AMQP 0-9",
    b"AMQP\x01\x01\x08\x00": "AMQP 0-8",
    b"AMQP\x01\x01\x00\x0a": "AMQP 0-10",
}


class DecodeProblem(NamedTuple):
    """Something in the stream that is not a valid frame, with the facts to show for it.

    ``offset`` is the stream offset where it starts, ``kind`` one of the constants above,
    ``reason`` a sentence for people, ``skipped_bytes`` how many bytes were passed over (0 when
    nothing was skipped, e.g. for undecodable arguments of an otherwise sound frame).
    """

    offset: int
    kind: str
    reason: str
    skipped_bytes: int = 0


class FrameError(CodecError):
    """Raised when decoding a frame's arguments or properties fails; ``problem`` has the facts."""

    def __init__(self, problem: DecodeProblem) -> None:
        super().__init__(f"at offset {problem.offset}: {problem.reason}")
        self.problem = problem


class ProtocolHeader(NamedTuple):
    """The 8-byte protocol header a client sends first (``AMQP\\x00\\x00\\x09\\x01`` for 0-9-1)."""

    offset: int
    raw: bytes

    @property
    def is_amqp091(self) -> bool:
        return self.raw == AMQP_0_9_1

    @property
    def description(self) -> str:
        """``AMQP 0-9-1``, or what the header is instead (``AMQP 1.0 SASL negotiation (...)``)."""
        if self.raw == AMQP_0_9_1:
            return "AMQP 0-9-1"
        shown = self.raw.hex(" ")
        known = _KNOWN_HEADERS.get(self.raw)
        if known is not None:
            return f"{known} protocol header ({shown}), not AMQP 0-9-1"
        if self.raw.startswith(b"AMQP"):
            return f"unknown AMQP protocol header ({shown}), not AMQP 0-9-1"
        return f"not an AMQP protocol header ({shown})"

    def to_bytes(self) -> bytes:
        return self.raw


def _problem(frame_offset: int, kind: str, exc: Exception) -> DecodeProblem:
    reason = str(exc) if isinstance(exc, CodecError) else f"truncated or malformed ({exc})"
    if isinstance(exc, RecursionError):
        reason = "field tables nested too deeply"
    return DecodeProblem(frame_offset, kind, reason)


class MethodFrame(NamedTuple):
    """A method frame (type 1); ``payload`` is the whole frame payload, ids included."""

    offset: int
    channel: int
    size: int
    class_id: int
    method_id: int
    payload: bytes

    @property
    def name(self) -> str:
        """``Basic.Publish``; ``Unknown(99.5)`` for ids not in the spec."""
        name = NAMES_BY_KEY.get((self.class_id << 16) | self.method_id)
        return name if name is not None else method_name(self.class_id, self.method_id)

    @property
    def spec(self) -> MethodSpec | None:
        return METHODS_BY_KEY.get((self.class_id << 16) | self.method_id)

    @property
    def args(self) -> dict[str, Any]:
        """The arguments as ``{spec name with '-' -> '_': value}``; raises :class:`FrameError`."""
        # both builds: the generated decoder straight from here (compiled, it is native code
        # already; a compiled go-between would only add a call)
        decoder = _DECODERS.get((self.class_id << 16) | self.method_id)
        if decoder is not None:
            try:
                return decoder(self.payload)
            except DECODE_ERRORS as exc:
                raise FrameError(_problem(self.offset, BAD_ARGUMENTS, exc)) from None
        raise FrameError(DecodeProblem(self.offset, BAD_ARGUMENTS, f"unknown method {self.name}"))

    def args_or_problem(self) -> dict[str, Any] | DecodeProblem:
        try:
            return self.args
        except FrameError as exc:
            return exc.problem

    def to_bytes(self) -> bytes:
        return _FRAME_HEADER.pack(1, self.channel, self.size) + bytes(self.payload) + b"\xce"


class HeaderFrame(NamedTuple):
    """A content header frame (type 2): class, weight, body size and the property flags word(s).

    ``property_flags`` is the first flags word (bit 15 = the first property); ``payload`` is the
    whole frame payload.
    """

    offset: int
    channel: int
    size: int
    class_id: int
    weight: int
    body_size: int
    property_flags: int
    payload: bytes

    @property
    def class_name(self) -> str:
        return CLASS_NAMES.get(self.class_id, f"Unknown({self.class_id})")

    @property
    def properties(self) -> dict[str, Any]:
        """The properties that are set, as ``{content_type: ..., headers: {...}, ...}``."""
        try:
            if _NATIVE:
                props = _native_properties(self.class_id, self.property_flags, self.payload)
                if props is not None:
                    return props
                return _slow_properties(self, _spec.PROPERTY_DECODERS.get(self.class_id))
            decoder = _COMPILED.get((self.class_id << 16) | self.property_flags)
            if decoder is None:
                decoder = property_decoder(self.class_id, self.property_flags)
                if decoder is None:
                    return _slow_properties(self, _spec.PROPERTY_DECODERS.get(self.class_id))
            return decoder(self.payload)
        except DECODE_ERRORS as exc:
            raise FrameError(_problem(self.offset, BAD_PROPERTIES, exc)) from None

    def properties_or_problem(self) -> dict[str, Any] | DecodeProblem:
        try:
            return self.properties
        except FrameError as exc:
            return exc.problem

    def to_bytes(self) -> bytes:
        return _FRAME_HEADER.pack(2, self.channel, self.size) + bytes(self.payload) + b"\xce"


def _slow_properties(frame: HeaderFrame, decoder: Any) -> dict[str, Any]:
    """Continuation flag words, or a class without properties: rare, so handled apart."""
    payload = frame.payload
    offset = 12
    words = []
    while True:
        (word,) = struct.unpack_from(">H", payload, offset)
        words.append(word)
        offset += 2
        if not word & 1:
            break
    count = len(PROPERTIES.get(frame.class_id, ()))
    first = words[0] & 0xFFFE
    if any(words[1:]) or (count < 15 and first & ((1 << (16 - count)) - 1)):
        raise CodecError("property flags name properties this class does not have")
    if decoder is None:
        if first or offset != len(payload):
            raise CodecError(f"class {frame.class_name} has no content properties")
        return {}
    result: dict[str, Any] = decoder(payload, offset, first)
    return result


class BodyFrame(NamedTuple):
    """A content body frame (type 3); ``payload`` is a view of the fed bytes, not a copy."""

    offset: int
    channel: int
    size: int
    payload: memoryview

    def to_bytes(self) -> bytes:
        return _FRAME_HEADER.pack(3, self.channel, self.size) + bytes(self.payload) + b"\xce"


class HeartbeatFrame(NamedTuple):
    """A heartbeat frame (type 8); its payload is normally empty and its channel 0."""

    offset: int
    channel: int
    size: int
    payload: memoryview

    def to_bytes(self) -> bytes:
        return _FRAME_HEADER.pack(8, self.channel, self.size) + bytes(self.payload) + b"\xce"


#: frame type octet -> the name of a frame of that type (methods are named by their ids)
FRAME_TYPE_NAMES = {1: "method", 2: "header", 3: "body", 8: "heartbeat"}
_CUT_NAMES = {2: "ContentHeader", 3: "ContentBody", 8: "Heartbeat"}
_IDS = struct.Struct(">HH")
_CUT_HEADER = struct.Struct(">HHQ")


class CutFrame(NamedTuple):
    """A frame the capture holds only in part: cut by the snap length, or by a lost segment.

    Its header is whole (type, channel, size); ``payload`` is the start of its payload that is in
    the capture, ``lost`` the number of the frame's bytes that are not (its end octet included).
    What the present bytes say exactly is decoded on demand: the method's ids and name, a
    header's class and body size, the arguments or properties wholly present (``fields()``).
    """

    offset: int
    frame_type: int
    channel: int
    size: int
    payload: memoryview
    lost: int
    reason: str = ""  # why the bytes are missing, when the source says (the snap length, ...)

    @property
    def type_name(self) -> str:
        """``method``, ``header``, ``body`` or ``heartbeat``, as for a whole frame."""
        return FRAME_TYPE_NAMES.get(self.frame_type, f"type-{self.frame_type}")

    @property
    def class_id(self) -> int | None:
        if self.frame_type in (1, 2) and len(self.payload) >= 2:
            return int((self.payload[0] << 8) | self.payload[1])
        return None

    @property
    def method_id(self) -> int | None:
        if self.frame_type == 1 and len(self.payload) >= 4:
            return int(_IDS.unpack_from(self.payload, 0)[1])
        return None

    @property
    def body_size(self) -> int | None:
        if self.frame_type == 2 and len(self.payload) >= 12:
            return int(_CUT_HEADER.unpack_from(self.payload, 0)[2])
        return None

    @property
    def name(self) -> str:
        """``Basic.Publish`` when the method ids are present, else the kind of frame."""
        method_id = self.method_id
        if method_id is not None:
            class_id = self.class_id
            assert class_id is not None
            return method_name(class_id, method_id)
        return _CUT_NAMES.get(self.frame_type, "Method")

    def fields(self) -> dict[str, Any]:
        """The arguments (a method) or properties (a content header) wholly present."""
        from mqctl.wire.partial import present_arguments, present_properties

        payload = self.payload.tobytes()
        if self.frame_type == 1:
            method_id, class_id = self.method_id, self.class_id
            spec = (
                METHODS_BY_KEY.get((class_id << 16) | method_id)
                if method_id is not None and class_id is not None
                else None
            )
            return present_arguments(spec, payload) if spec is not None else {}
        if self.frame_type == 2 and self.class_id is not None:
            return present_properties(self.class_id, payload)
        return {}


Frame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame
Event = Frame | ProtocolHeader | DecodeProblem | CutFrame

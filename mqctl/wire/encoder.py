"""Frame encoding for tests, benchmarks and capture synthesis (pika stays the client library).

    encode_method(1, "Basic.Publish", exchange="orders", routing_key="eu.new")
    encode_header(1, 60, len(body), {"content_type": "application/json", "delivery_mode": 2})
    encode_body(1, body)
    encode_heartbeat()
    PROTOCOL_HEADER                      # b"AMQP\\x00\\x00\\x09\\x01"

Arguments not given take the spec's default (or 0 / "" / False / {} where the spec has none).
Strings may be ``str`` or ``bytes`` (for exact non-UTF-8 round trips); field tables take plain
values or the classes of :mod:`mqctl.wire.fieldtypes` (``Int8(5)``, ``Float32(1.5)``) to pick the
type code; timestamps take a datetime or POSIX seconds. Bad values raise :class:`~mqctl.wire.values.EncodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from mqctl.wire import _spec
from mqctl.wire.frames import AMQP_0_9_1, Frame, ProtocolHeader
from mqctl.wire.methods import PROPERTIES, method_spec
from mqctl.wire.values import CodecError, EncodeError

__all__ = [
    "PROTOCOL_HEADER",
    "encode_body",
    "encode_frame",
    "encode_header",
    "encode_heartbeat",
    "encode_message",
    "encode_method",
    "encode_method_payload",
    "encode_properties",
]

PROTOCOL_HEADER = AMQP_0_9_1
_HEADER = struct.Struct(">BHI")
_CONTENT = struct.Struct(">HHQ")
_FLAGS = struct.Struct(">H")
_ERRORS = (struct.error, TypeError, ValueError, OverflowError, KeyError)


def _frame(kind: int, channel: int, payload: bytes) -> bytes:
    try:
        return _HEADER.pack(kind, channel, len(payload)) + payload + b"\xce"
    except struct.error as exc:
        raise EncodeError(f"bad channel {channel!r}: {exc}") from None


def encode_method_payload(name: str, args: Mapping[str, Any] | None = None) -> bytes:
    """The payload of a method frame (class and method ids included)."""
    spec = method_spec(name)
    values = spec.defaults
    if args:
        unknown = set(args) - set(values)
        if unknown:
            known = ", ".join(values) or "none"
            raise EncodeError(
                f"{spec.name} has no argument(s) {', '.join(sorted(unknown))}; it takes: {known}"
            )
        values.update(args)
    try:
        return _spec.ENCODERS[spec.key](values)
    except CodecError:
        raise
    except _ERRORS as exc:
        raise EncodeError(f"cannot encode {spec.name} arguments: {exc}") from None


def encode_method(
    channel: int, name: str, /, args: Mapping[str, Any] | None = None, **kwargs: Any
) -> bytes:
    """A whole method frame; arguments as a mapping and/or keywords (``global`` needs a mapping)."""
    merged = {**(args or {}), **kwargs}
    return _frame(1, channel, encode_method_payload(name, merged))


def encode_header(
    channel: int,
    class_id: int,
    body_size: int,
    properties: Mapping[str, Any] | None = None,
    *,
    weight: int = 0,
) -> bytes:
    """A content header frame; ``properties`` maps property names to values (None means unset)."""
    props = encode_properties(class_id, properties)
    try:
        payload = _CONTENT.pack(class_id, weight, body_size) + props
    except struct.error as exc:
        raise EncodeError(f"cannot encode content header: {exc}") from None
    return _frame(2, channel, payload)


def encode_properties(class_id: int, properties: Mapping[str, Any] | None) -> bytes:
    """The property flags word and the values of a content header (None means unset)."""
    props = {key: value for key, value in (properties or {}).items() if value is not None}
    encoder = _spec.PROPERTY_ENCODERS.get(class_id)
    if encoder is None:
        if props:
            raise EncodeError(f"class {class_id} has no content properties")
        return b"\x00\x00"
    known = {prop.name for prop in PROPERTIES[class_id]}
    unknown = set(props) - known
    if unknown:
        raise EncodeError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    try:
        flags, data = encoder(props)
    except CodecError:
        raise
    except _ERRORS as exc:
        raise EncodeError(f"cannot encode properties: {exc}") from None
    return _FLAGS.pack(flags) + data


def encode_body(channel: int, data: bytes | bytearray | memoryview) -> bytes:
    """A content body frame carrying ``data``."""
    return _frame(3, channel, bytes(data))


def encode_heartbeat(channel: int = 0) -> bytes:
    """A heartbeat frame (always channel 0 on a correct connection)."""
    return _frame(8, channel, b"")


def encode_message(
    channel: int,
    name: str,
    body: bytes,
    properties: Mapping[str, Any] | None = None,
    *,
    frame_max: int = 131072,
    **args: Any,
) -> bytes:
    """A content method (``Basic.Publish``...), its header, and the body split to fit frame_max."""
    spec = method_spec(name)
    if not spec.content:
        raise EncodeError(f"{spec.name} carries no content")
    if frame_max < 9:
        raise EncodeError(f"frame_max must be above 8, got {frame_max}")
    parts = [
        encode_method(channel, spec.name, **args),
        encode_header(channel, spec.class_id, len(body), properties),
    ]
    step = frame_max - 8
    parts += [encode_body(channel, body[i : i + step]) for i in range(0, len(body), step)]
    return b"".join(parts)


def encode_frame(frame: Frame | ProtocolHeader) -> bytes:
    """The exact bytes a decoded frame came from."""
    return frame.to_bytes()

"""Typed decoding for detail views and exact re-encoding: field tables keep their type codes.

The generated decoders in ``_spec`` are the fast path; this module walks the argument and property
lists generically: it runs once per frame a person looks at, not once per frame in a capture.
A detail renderer pairs ``MethodSpec.arguments`` (each argument's AMQP type) with
``MethodFrame.typed_args()``; every field-table entry is a ``TypedValue(type_code, value)``.
"""

from __future__ import annotations

import struct
from typing import Any

from mqctl.wire.methods import PROPERTIES, MethodSpec
from mqctl.wire.values import CodecError, decode_table_typed, decode_timestamp

__all__ = ["typed_arguments", "typed_properties"]

_FIXED = {
    "octet": struct.Struct(">B"),
    "short": struct.Struct(">H"),
    "long": struct.Struct(">I"),
    "longlong": struct.Struct(">Q"),
    "timestamp": struct.Struct(">Q"),
}
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def _read(amqp_type: str, b: bytes, o: int) -> tuple[Any, int]:
    fixed = _FIXED.get(amqp_type)
    if fixed is not None:
        (value,) = fixed.unpack_from(b, o)
        if amqp_type == "timestamp":
            value = decode_timestamp(value)
        return value, o + fixed.size
    if amqp_type == "shortstr":
        end = o + 1 + b[o]
        return _text(b[o + 1 : end]), end
    if amqp_type == "longstr":
        end = o + 4 + _U32.unpack_from(b, o)[0]
        return _text(b[o + 4 : end]), end
    if amqp_type == "table":
        return decode_table_typed(b, o)
    raise CodecError(f"unsupported AMQP type {amqp_type}")


def typed_arguments(spec: MethodSpec, payload: bytes) -> dict[str, Any]:
    """The arguments of a method payload (ids included) with tables as typed dicts."""
    o = 4
    args: dict[str, Any] = {}
    bit = 8  # position in the current bit octet; 8 means "start a new octet"
    octet = 0
    for arg in spec.arguments:
        if arg.amqp_type == "bit":
            if bit == 8:
                octet = payload[o]
                o += 1
                bit = 0
            args[arg.name] = (octet >> bit) & 1 == 1
            bit += 1
            continue
        bit = 8
        args[arg.name], o = _read(arg.amqp_type, payload, o)
    if o != len(payload):
        raise CodecError(f"{len(payload) - o} byte(s) left over after the last argument")
    return args


def typed_properties(class_id: int, payload: bytes) -> dict[str, Any]:
    """The set properties of a content header payload, ``headers`` as a typed dict."""
    o = 12
    flags = 0
    shift = 0
    while True:
        (word,) = _U16.unpack_from(payload, o)
        o += 2
        flags |= (word & 0xFFFE) << shift
        shift += 16
        if not word & 1:
            break
    props: dict[str, Any] = {}
    for prop in PROPERTIES.get(class_id, ()):
        if flags & prop.flag:
            props[prop.name], o = _read(prop.amqp_type, payload, o)
    if o > len(payload):
        raise CodecError("the properties run past the end of the frame")
    return props

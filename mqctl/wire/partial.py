"""What a cut frame still says: the arguments or properties whose bytes are all in the capture.

A frame cut by the snap length (or by a lost segment) keeps its header and the start of its
payload. These walk the method's argument list (or the content header's property list) from the
generated spec tables, one field at a time, and stop at the first field that does not fit in the
bytes present: every field returned is exact, none is guessed.
"""

from __future__ import annotations

import struct
from typing import Any

from mqctl.wire.methods import PROPERTIES, MethodSpec
from mqctl.wire.values import CodecError, decode_table, decode_timestamp

__all__ = ["present_arguments", "present_properties"]

_FIXED = {
    "octet": struct.Struct(">B"),
    "short": struct.Struct(">H"),
    "long": struct.Struct(">I"),
    "longlong": struct.Struct(">Q"),
    "timestamp": struct.Struct(">Q"),
}
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")


class _Incomplete(Exception):
    """The next field runs past the bytes present."""


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def _read(amqp_type: str, b: bytes, o: int) -> tuple[Any, int]:
    n = len(b)
    fixed = _FIXED.get(amqp_type)
    if fixed is not None:
        if o + fixed.size > n:
            raise _Incomplete
        (value,) = fixed.unpack_from(b, o)
        return (decode_timestamp(value) if amqp_type == "timestamp" else value), o + fixed.size
    if amqp_type == "shortstr":
        if o >= n or o + 1 + b[o] > n:
            raise _Incomplete
        end = o + 1 + b[o]
        return _text(b[o + 1 : end]), end
    if o + 4 > n:
        raise _Incomplete
    end = o + 4 + _U32.unpack_from(b, o)[0]
    if end > n:
        raise _Incomplete
    if amqp_type == "longstr":
        return _text(b[o + 4 : end]), end
    if amqp_type == "table":
        return decode_table(b, o)
    raise CodecError(f"unsupported AMQP type {amqp_type}")


def present_arguments(spec: MethodSpec, payload: bytes) -> dict[str, Any]:
    """The arguments wholly present in the start of a method payload (its ids included)."""
    args: dict[str, Any] = {}
    o = 4
    bit = 8  # position in the current bit octet; 8: the next bit starts a new octet
    octet = 0
    try:
        for arg in spec.arguments:
            if arg.amqp_type == "bit":
                if bit == 8:
                    if o >= len(payload):
                        break
                    octet = payload[o]
                    o += 1
                    bit = 0
                args[arg.name] = (octet >> bit) & 1 == 1
                bit += 1
                continue
            bit = 8
            args[arg.name], o = _read(arg.amqp_type, payload, o)
    except (_Incomplete, CodecError, IndexError, struct.error):
        pass
    return args


def present_properties(class_id: int, payload: bytes) -> dict[str, Any]:
    """The properties wholly present in the start of a content header payload (one flags word)."""
    props: dict[str, Any] = {}
    if len(payload) < 14:
        return props
    (flags,) = _U16.unpack_from(payload, 12)
    o = 14
    try:
        for prop in PROPERTIES.get(class_id, ()):
            if flags & prop.flag:
                props[prop.name], o = _read(prop.amqp_type, payload, o)
    except (_Incomplete, CodecError, IndexError, struct.error):
        pass
    return props

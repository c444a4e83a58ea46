"""Content-header property decoders specialised per property-flags value.

A content header's flags word says which of the 14 Basic properties follow. Real traffic uses a
handful of flag combinations over and over, so for each (class, flags) seen, this module compiles
(once, with ``exec``, like ``collections.namedtuple`` does) a straight-line decoder that reads
exactly those properties at fixed offsets where it can -- no per-property flag tests, one dict
display. The layouts come from the generated spec tables (``_spec.PROPERTY_TABLE``).

Past ``MAX_COMPILED`` distinct combinations (fuzzed or hostile input) it falls back to the
generated decoder in ``_spec``, which tests each flag.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from mqctl.wire import _spec
from mqctl.wire.methods import PROPERTIES
from mqctl.wire.values import CodecError, decode_table, decode_timestamp

__all__ = ["MAX_COMPILED", "decode_properties", "property_decoder"]

MAX_COMPILED = 512

PropertyDecoder = Callable[[bytes], dict[str, Any]]

_compiled: dict[int, PropertyDecoder] = {}
_U16_FROM = struct.Struct(">H").unpack_from
_FIXED = {"octet": ("B", 1), "short": ("H", 2), "long": ("I", 4), "longlong": ("Q", 8)}


def _length_error(end: int, size: int) -> CodecError:
    if end > size:
        return CodecError(f"the properties need {end - size} more byte(s) than the frame has")
    return CodecError(f"{size - end} byte(s) left over after the last property")


_NAMESPACE: dict[str, Any] = {
    "_table": decode_table,
    "_timestamp": decode_timestamp,
    "_U32": struct.Struct(">I").unpack_from,
    "_U16": struct.Struct(">H").unpack_from,
    "_U64": struct.Struct(">Q").unpack_from,
    "_length_error": _length_error,
}


def _source(class_id: int, flags: int) -> str:
    lines = ["def decode(b):"]
    names: list[tuple[str, str]] = []
    static: int | None = 14
    pos = "14"

    def advance(size: int) -> None:
        nonlocal static, pos
        if static is not None:
            static += size
            pos = str(static)
        else:
            lines.append(f"    o += {size}")

    for number, prop in enumerate(PROPERTIES[class_id]):
        if not flags & prop.flag:
            continue
        var = f"v{number}"
        names.append((prop.name, var))
        kind = prop.amqp_type
        if kind == "octet":
            lines.append(f"    {var} = b[{pos}]")
            advance(1)
        elif kind in _FIXED or kind == "timestamp":
            code = {"short": "_U16", "long": "_U32"}.get(kind, "_U64")
            read = f"{code}(b, {pos})[0]"
            lines.append(f"    {var} = " + (f"_timestamp({read})" if kind == "timestamp" else read))
            advance(_FIXED.get(kind, ("Q", 8))[1])
        elif kind == "table":
            lines.append(f"    {var}, o = _table(b, {pos})")
            static, pos = None, "o"
        elif kind in ("shortstr", "longstr"):
            if kind == "shortstr":
                lines.append(f"    s = {pos} + 1")
                lines.append("    o = s + b[s - 1]")
            else:
                lines.append(f"    s = {pos} + 4")
                lines.append("    o = s + _U32(b, s - 4)[0]")
            lines.append("    try:")
            lines.append(f"        {var} = b[s:o].decode()")
            lines.append("    except UnicodeDecodeError:")
            lines.append(f"        {var} = b[s:o]")
            static, pos = None, "o"
        else:  # pragma: no cover - the generator rejects other types
            raise CodecError(f"unsupported property type {kind}")
    if static is not None:
        lines.append(f"    o = {static}")
    lines.append("    if o != len(b):")
    lines.append("        raise _length_error(o, len(b))")
    lines.append("    return {" + ", ".join(f"{name!r}: {var}" for name, var in names) + "}")
    return "\n".join(lines) + "\n"


def _fallback(class_id: int, flags: int) -> PropertyDecoder:
    generated = _spec.PROPERTY_DECODERS[class_id]

    def decode(b: bytes) -> dict[str, Any]:
        return generated(b, 14, flags)

    return decode


def property_decoder(class_id: int, flags: int) -> PropertyDecoder | None:
    """A decoder for one flags word of ``class_id`` (payload bytes -> set properties).

    None when the flags need the careful path: a continuation word, bits past the class's last
    property, or a class without properties.
    """
    key = (class_id << 16) | flags
    decoder = _compiled.get(key)
    if decoder is not None:
        return decoder
    props = PROPERTIES.get(class_id)
    if props is None or flags & ((1 << (16 - len(props))) - 1):
        return None
    if len(_compiled) >= MAX_COMPILED:
        return _fallback(class_id, flags)
    namespace = dict(_NAMESPACE)
    exec(_source(class_id, flags), namespace)
    compiled: PropertyDecoder = namespace["decode"]
    _compiled[key] = compiled
    return compiled


#: key (class_id << 16 | flags) -> decoder, for the hot path in frames.HeaderFrame.properties
COMPILED = _compiled


def decode_properties(class_id: int, data: bytes, offset: int = 0) -> dict[str, Any]:
    """The set properties of a property list (flags word first) at ``offset`` in ``data``: what
    follows the body size in a content header (pika hands its property objects this)."""
    props = PROPERTIES.get(class_id)
    if props is None:
        raise CodecError(f"class {class_id} has no content properties")
    (flags,) = _U16_FROM(data, offset)
    if flags & ((1 << (16 - len(props))) - 1):
        raise CodecError("property flags name properties this class does not have")
    decoded: dict[str, Any] = _spec.PROPERTY_DECODERS[class_id](data, offset + 2, flags)
    return decoded

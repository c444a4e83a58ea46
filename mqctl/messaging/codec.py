"""AMQP field tables and basic properties with every field type kept, on top of pika.

pika's own table codec cannot send floats, reads floats back as integers, and forgets integer
widths. `TypedBasicProperties` encodes and decodes the basic properties itself, using the value
classes of `mqctl.jsonvalues` (Int8, Float32, ...) so that a header published as a uint16 or a
32-bit float is read back as one. Field type codes follow RabbitMQ (the 0-9-1 errata): b B s u I i
l f d D S x T F A V t.

`install()` makes pika build these for every incoming content header in this process; the values
stay pika-compatible (the typed classes subclass int, float and bytes).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from collections.abc import Mapping
from typing import Any

import pika.data
import pika.spec

from mqctl.jsonvalues import (
    Float32,
    Int8,
    Int16,
    Int32,
    Int64,
    StringBytes,
    TypedInt,
    UInt8,
    UInt16,
    UInt32,
    parse_decimal,
)

_INT_BY_CODE: dict[bytes, tuple[type[TypedInt], struct.Struct]] = {
    b"b": (Int8, struct.Struct(">b")),
    b"B": (UInt8, struct.Struct(">B")),
    b"s": (Int16, struct.Struct(">h")),
    b"u": (UInt16, struct.Struct(">H")),
    b"I": (Int32, struct.Struct(">i")),
    b"i": (UInt32, struct.Struct(">I")),
    b"l": (Int64, struct.Struct(">q")),
}
_PACK_INT = {cls: (code, fmt) for code, (cls, fmt) in _INT_BY_CODE.items()}
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


_FLOAT32_MAX = 3.4028234663852886e38


class FieldError(ValueError):
    """A value that cannot be written as an AMQP field, or bytes that are not a field table."""


# --- encoding -------------------------------------------------------------------------------


def encode_table(table: Mapping[str, Any]) -> bytes:
    """A field table, with its 32-bit length prefix."""
    pieces: list[bytes] = []
    for key, value in table.items():
        name = str(key).encode("utf-8")
        if len(name) > 255:
            raise FieldError(f"header name {str(key)[:40]!r}... is longer than 255 bytes")
        pieces.append(bytes((len(name),)) + name)
        pieces.append(encode_value(value, f"{key}"))
    payload = b"".join(pieces)
    return _U32.pack(len(payload)) + payload


def encode_value(value: Any, where: str = "value") -> bytes:
    """One field value, type code first."""
    if value is None:
        return b"V"
    if isinstance(value, bool):
        return b"t" + (b"\x01" if value else b"\x00")
    if isinstance(value, TypedInt):
        code, fmt = _PACK_INT[type(value)]
        return code + fmt.pack(value)
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"I" + struct.pack(">i", value)
        if -(2**63) <= value < 2**63:
            return b"l" + struct.pack(">q", value)
        raise FieldError(f"{where}: {value} does not fit a 64-bit integer")
    if isinstance(value, float):
        # RabbitMQ closes the connection (541) on NaN or infinity: refuse them here instead.
        if not math.isfinite(value):
            raise FieldError(f"{where}: {float(value)} is not a finite number; brokers refuse it")
        if isinstance(value, Float32):
            if abs(value) > _FLOAT32_MAX:
                raise FieldError(
                    f"{where}: {float(value):g} does not fit a 32-bit float (use :double)"
                )
            return b"f" + struct.pack(">f", value)
        return b"d" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return b"S" + _U32.pack(len(raw)) + raw
    if isinstance(value, StringBytes):
        return b"S" + _U32.pack(len(value)) + bytes(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return b"x" + _U32.pack(len(raw)) + raw
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        seconds = int(value.timestamp())
        if seconds < 0:
            raise FieldError(f"{where}: timestamps before 1970 cannot be sent")
        return b"T" + _U64.pack(seconds)
    if isinstance(value, decimal.Decimal):
        try:
            number = parse_decimal(value)
        except ValueError as exc:
            raise FieldError(f"{where}: {exc}") from None
        scale = max(0, -int(number.as_tuple().exponent))
        return b"D" + struct.pack(">Bi", scale, int(number.scaleb(scale)))
    if isinstance(value, Mapping):
        return b"F" + encode_table(value)
    if isinstance(value, list | tuple):
        payload = b"".join(encode_value(item, f"{where}[{i}]") for i, item in enumerate(value))
        return b"A" + _U32.pack(len(payload)) + payload
    raise FieldError(f"{where}: {type(value).__name__} cannot be sent as an AMQP field value")


# --- decoding -------------------------------------------------------------------------------


def decode_table(data: bytes, offset: int) -> tuple[dict[str, Any], int]:
    """The table at `offset` (length prefix included) and the offset after it."""
    (length,) = _U32.unpack_from(data, offset)
    offset += 4
    end = offset + length
    if end > len(data):
        raise FieldError("field table runs past the end of the frame")
    table: dict[str, Any] = {}
    while offset < end:
        size = data[offset]
        key = data[offset + 1 : offset + 1 + size].decode("utf-8", "replace")
        value, offset = decode_value(data, offset + 1 + size)
        table[key] = value
    return table, end


def decode_value(data: bytes, offset: int) -> tuple[Any, int]:
    code = data[offset : offset + 1]
    offset += 1
    int_type = _INT_BY_CODE.get(code)
    if int_type is not None:
        cls, fmt = int_type
        (number,) = fmt.unpack_from(data, offset)
        # A plain int stands for the default encoding ('I', or 'l' beyond 32 bits).
        plain = cls is Int32 or (cls is Int64 and not -(2**31) <= number < 2**31)
        return (number if plain else cls(number)), offset + fmt.size
    if code == b"S":
        (length,) = _U32.unpack_from(data, offset)
        raw = data[offset + 4 : offset + 4 + length]
        try:
            return raw.decode("utf-8"), offset + 4 + length
        except UnicodeDecodeError:
            return StringBytes(raw), offset + 4 + length
    if code == b"x":
        (length,) = _U32.unpack_from(data, offset)
        return bytes(data[offset + 4 : offset + 4 + length]), offset + 4 + length
    if code == b"t":
        return data[offset] != 0, offset + 1
    if code == b"V":
        return None, offset
    if code == b"f":
        return Float32(struct.unpack_from(">f", data, offset)[0]), offset + 4
    if code == b"d":
        return struct.unpack_from(">d", data, offset)[0], offset + 8
    if code == b"T":
        (seconds,) = _U64.unpack_from(data, offset)
        return dt.datetime.fromtimestamp(seconds, dt.UTC), offset + 8
    if code == b"D":
        scale, unscaled = struct.unpack_from(">Bi", data, offset)
        return decimal.Decimal(unscaled).scaleb(-scale), offset + 5
    if code == b"F":
        return decode_table(data, offset)
    if code == b"A":
        (length,) = _U32.unpack_from(data, offset)
        offset += 4
        end = offset + length
        items = []
        while offset < end:
            item, offset = decode_value(data, offset)
            items.append(item)
        return items, end
    raise FieldError(f"unknown field type {code!r} at offset {offset - 1}")


# --- basic properties -----------------------------------------------------------------------

# (name, flag bit, kind) in wire order: spec class "basic", its 14 properties.
_PROPERTIES = (
    ("content_type", 15, "shortstr"),
    ("content_encoding", 14, "shortstr"),
    ("headers", 13, "table"),
    ("delivery_mode", 12, "octet"),
    ("priority", 11, "octet"),
    ("correlation_id", 10, "shortstr"),
    ("reply_to", 9, "shortstr"),
    ("expiration", 8, "shortstr"),
    ("message_id", 7, "shortstr"),
    ("timestamp", 6, "timestamp"),
    ("type", 5, "shortstr"),
    ("user_id", 4, "shortstr"),
    ("app_id", 3, "shortstr"),
    ("cluster_id", 2, "shortstr"),
)
PROPERTY_NAMES = tuple(name for name, _, _ in _PROPERTIES)


class TypedBasicProperties(pika.spec.BasicProperties):  # type: ignore[misc]
    """pika's BasicProperties with a lossless header codec. `timestamp` is epoch seconds."""

    _encoded: list[bytes] | None = None

    def encode(self) -> list[bytes]:
        # The same object is often published many times (--count): encode it once.
        if self._encoded is None:
            self._encoded = [encode_properties(self)]
        return list(self._encoded)  # a copy: pika inserts its frame header into the list

    def decode(self, encoded: bytes, offset: int = 0) -> TypedBasicProperties:
        for name, value in decode_properties(encoded, offset).items():
            setattr(self, name, value)
        return self


def encode_properties(props: Any) -> bytes:
    flags = 0
    pieces: list[bytes] = []
    for name, bit, kind in _PROPERTIES:
        value = getattr(props, name, None)
        if value is None:
            continue
        flags |= 1 << bit
        if kind == "shortstr":
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            if len(raw) > 255:
                raise FieldError(f"property {name} is longer than 255 bytes")
            pieces.append(bytes((len(raw),)) + raw)
        elif kind == "table":
            pieces.append(encode_table(value))
        elif kind == "octet":
            pieces.append(bytes((int(value),)))
        else:
            pieces.append(_U64.pack(int(value)))
    return struct.pack(">H", flags) + b"".join(pieces)


def decode_properties(data: bytes, offset: int = 0) -> dict[str, Any]:
    flags = 0
    word = 0
    while True:
        (partial,) = struct.unpack_from(">H", data, offset)
        offset += 2
        flags |= partial << (word * 16)
        if not partial & 1:
            break
        word += 1
    values: dict[str, Any] = {}
    for name, bit, kind in _PROPERTIES:
        if not flags & (1 << bit):
            values[name] = None
        elif kind == "shortstr":
            size = data[offset]
            values[name] = data[offset + 1 : offset + 1 + size].decode("utf-8", "replace")
            offset += 1 + size
        elif kind == "table":
            values[name], offset = decode_table(data, offset)
        elif kind == "octet":
            values[name] = data[offset]
            offset += 1
        else:
            (values[name],) = _U64.unpack_from(data, offset)
            offset += 8
    return values


def install() -> None:
    """Make pika decode every incoming basic content header with `TypedBasicProperties`."""
    pika.spec.props[pika.spec.BasicProperties.INDEX] = TypedBasicProperties


def install_table_encoder() -> None:
    """Make pika encode the field tables of the methods it sends (declare and bind arguments,
    say) with `encode_table`, so that floats and typed integers go out as they were given
    (pika's own encoder refuses floats)."""
    pika.data.encode_table = _pika_encode_table


def _pika_encode_table(pieces: list[bytes], table: Mapping[str, Any] | None) -> int:
    # pika's signature: append the encoded table to `pieces`, return its size.
    encoded = encode_table(table or {})
    pieces.append(encoded)
    return len(encoded)

"""AMQP 0-9-1 values: strings, timestamps, field tables and arrays, in both directions.

The one field-value codec of mqctl: the wire decoder, messaging (through pika) and topology's AMQP
backend all use it. Field-table type codes follow RabbitMQ's errata to the 0-9-1 spec (the codes
RabbitMQ, pika and the Java client actually put on the wire), not the spec's own table:

====  =========================  ==========================================================
code  wire                       Python value (classes from :mod:`mqctl.wire.fieldtypes`)
====  =========================  ==========================================================
t     octet 0/1                  bool
b     signed 8-bit               Int8
B     unsigned 8-bit             UInt8
s     signed 16-bit              Int16  (the spec says "short string"; RabbitMQ uses a short)
u     unsigned 16-bit            UInt16
I     signed 32-bit              int
i     unsigned 32-bit            UInt32
l     signed 64-bit              int beyond 32 bits, Int64 within (``L``: Int64L)
f     IEEE 754 single            Float32
d     IEEE 754 double            float
D     scale octet + signed 32    decimal.Decimal (value * 10**-scale, exponent kept)
S     long string                str, or StringBytes when it is not valid UTF-8
A     array (long byte length)   list
T     unsigned 64-bit seconds    datetime (timezone-aware, UTC); TimestampSeconds past 9999
F     nested table               dict
V     nothing                    None
x     byte array (long length)   bytes
====  =========================  ==========================================================

The value says its type, so decode -> encode gives the same bytes. Table keys and short strings
decode to ``str`` when they are valid UTF-8 and to ``bytes`` otherwise: nothing is lost.

Encoding refuses what brokers refuse (RabbitMQ closes the connection on a NaN or infinite float)
and what does not fit; every problem is a :class:`CodecError` (``EncodeError`` when encoding),
with the path of the value in a table (``x-args: ...``, ``list[2]: ...``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from mqctl.errors import BadInput
from mqctl.wire.fieldtypes import (
    Float32,
    Int8,
    Int16,
    Int64,
    Int64L,
    StringBytes,
    TimestampSeconds,
    TypedInt,
    UInt8,
    UInt16,
    UInt32,
)

__all__ = [
    "FIELD_TYPE_NAMES",
    "CodecError",
    "EncodeError",
    "decimal_parts",
    "decode_array",
    "decode_table",
    "decode_timestamp",
    "encode_array",
    "encode_longstr",
    "encode_shortstr",
    "encode_table",
    "encode_timestamp",
    "encode_value",
    "type_code",
]


class CodecError(BadInput):
    """Every problem the codec reports: malformed bytes, or a value AMQP cannot carry."""


class EncodeError(CodecError):
    """A value cannot be encoded: wrong type, out of range, unknown name."""


#: Human names of the field-table type codes, for detail renderers.
FIELD_TYPE_NAMES: dict[str, str] = {
    "t": "boolean",
    "b": "short-short-int",
    "B": "short-short-uint",
    "s": "short-int",
    "u": "short-uint",
    "I": "long-int",
    "i": "long-uint",
    "l": "long-long-int",
    "L": "long-long-int",
    "f": "float",
    "d": "double",
    "D": "decimal",
    "S": "long-string",
    "A": "field-array",
    "T": "timestamp",
    "F": "field-table",
    "V": "void",
    "x": "byte-array",
}

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_SECOND = dt.timedelta(seconds=1)
_FLOAT32_MAX = 3.4028234663852886e38

_U8 = struct.Struct(">B")
_I8 = struct.Struct(">b")
_U16 = struct.Struct(">H")
_I16 = struct.Struct(">h")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_DEC = struct.Struct(">Bi")

_u32: Final = _U32.unpack_from
_i32: Final = _I32.unpack_from
_i64: Final = _I64.unpack_from
_u64: Final = _U64.unpack_from
#: True when this module runs compiled by mypyc (see tools/build_mypyc.py)
_NATIVE: Final = not __file__.endswith(".py")
_typed: Final = int.__new__  # a typed int without its range check: the wire width already bounds it


def decode_timestamp(seconds: int) -> dt.datetime | int:
    """A timezone-aware UTC datetime for POSIX seconds; ``TimestampSeconds`` when out of range."""
    try:
        return _EPOCH + seconds * _ONE_SECOND
    except OverflowError:
        # Any, not int: compiled with mypyc, an int-typed local would drop the subclass
        value: Any = _typed(TimestampSeconds, seconds)
        return value  # type: ignore[no-any-return]


def encode_timestamp(value: dt.datetime | int) -> int:
    """POSIX seconds for a datetime (naive datetimes are taken as UTC) or an int."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return (value - _EPOCH) // _ONE_SECOND
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise EncodeError(f"a timestamp must be a datetime or an int, not {type(value).__name__}")


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


# --- decoding -------------------------------------------------------------------------------------
# Each reader takes (buffer, offset just past the type code) and returns (value, new offset).

_Reader = Callable[[bytes, int], tuple[Any, int]]


def _r_bool(b: bytes, o: int) -> tuple[Any, int]:
    return b[o] != 0, o + 1


def _r_i8(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(Int8, _I8.unpack_from(b, o)[0]), o + 1


def _r_u8(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(UInt8, b[o]), o + 1


def _r_i16(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(Int16, _I16.unpack_from(b, o)[0]), o + 2


def _r_u16(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(UInt16, _U16.unpack_from(b, o)[0]), o + 2


def _r_i32(b: bytes, o: int) -> tuple[Any, int]:
    return _i32(b, o)[0], o + 4


def _r_u32(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(UInt32, _u32(b, o)[0]), o + 4


def _r_i64(b: bytes, o: int) -> tuple[Any, int]:
    value = _i64(b, o)[0]
    # a plain int stands for the default encoding: 'I', or 'l' beyond 32 bits
    return (value if not -(2**31) <= value < 2**31 else _typed(Int64, value)), o + 8


def _r_i64_upper(b: bytes, o: int) -> tuple[Any, int]:
    return _typed(Int64L, _i64(b, o)[0]), o + 8


def _r_f32(b: bytes, o: int) -> tuple[Any, int]:
    return Float32(_F32.unpack_from(b, o)[0]), o + 4


def _r_f64(b: bytes, o: int) -> tuple[Any, int]:
    return _F64.unpack_from(b, o)[0], o + 8


def _r_decimal(b: bytes, o: int) -> tuple[Any, int]:
    scale, raw = _DEC.unpack_from(b, o)
    return decimal.Decimal(raw).scaleb(-scale), o + 5


def _r_longstr(b: bytes, o: int) -> tuple[Any, int]:
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise CodecError("a long string runs past the end of its field table")
    raw = b[o + 4 : end]
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        return StringBytes(raw), end


def _r_bytes(b: bytes, o: int) -> tuple[Any, int]:
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise CodecError("a byte array runs past the end of its field table")
    return b[o + 4 : end], end


def _r_timestamp(b: bytes, o: int) -> tuple[Any, int]:
    return decode_timestamp(_u64(b, o)[0]), o + 8


def _r_void(b: bytes, o: int) -> tuple[Any, int]:
    return None, o


def _r_table(b: bytes, o: int) -> tuple[Any, int]:
    return decode_table(b, o)


def _r_array(b: bytes, o: int) -> tuple[Any, int]:
    return decode_array(b, o)


_READERS: Final[dict[int, _Reader]] = {
    ord("t"): _r_bool,
    ord("b"): _r_i8,
    ord("B"): _r_u8,
    ord("s"): _r_i16,
    ord("u"): _r_u16,
    ord("I"): _r_i32,
    ord("i"): _r_u32,
    ord("l"): _r_i64,
    ord("L"): _r_i64_upper,
    ord("f"): _r_f32,
    ord("d"): _r_f64,
    ord("D"): _r_decimal,
    ord("S"): _r_longstr,
    ord("A"): _r_array,
    ord("T"): _r_timestamp,
    ord("F"): _r_table,
    ord("V"): _r_void,
    ord("x"): _r_bytes,
}


def _unknown_type(code: int) -> CodecError:
    shown = chr(code) if 32 < code < 127 else f"0x{code:02x}"
    return CodecError(f"unknown field-table type code {shown!r}")


def u32_at(b: bytes, o: int) -> int:
    """The unsigned 32-bit big-endian integer at ``o``, read byte by byte: compiled by mypyc this
    is four machine loads, where a struct call boxes its result (pure Python uses struct)."""
    return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]


def decode_table(b: bytes, o: int) -> tuple[dict[Any, Any], int]:
    """Decode the field table whose length prefix starts at ``o``; return it and the end offset.

    Raises :class:`CodecError` (or ``IndexError``/``struct.error`` on truncation, which callers
    turn into a decode problem).
    """
    native = _NATIVE
    length: int = u32_at(b, o) if native else _u32(b, o)[0]
    end = o + 4 + length
    if end > len(b):
        raise CodecError("a field table runs past the end of its frame")
    o += 4
    table: dict[Any, Any] = {}
    readers = _READERS
    while o < end:
        key_end = o + 1 + b[o]
        try:
            key: Any = b[o + 1 : key_end].decode()
        except UnicodeDecodeError:
            key = b[o + 1 : key_end]
        code = b[key_end]
        o = key_end + 1
        # the commonest header types inline; the rest through the reader table
        if code == 83:  # S
            length = u32_at(b, o) if native else _u32(b, o)[0]
            value_end = o + 4 + length
            if value_end > end:
                raise CodecError("a long string runs past the end of its field table")
            try:
                table[key] = b[o + 4 : value_end].decode()
            except UnicodeDecodeError:
                table[key] = StringBytes(b[o + 4 : value_end])
            o = value_end
        elif code == 73:  # I
            if native:
                value = u32_at(b, o)
                table[key] = value - 0x100000000 if value & 0x80000000 else value
            else:
                table[key] = _i32(b, o)[0]
            o += 4
        elif code == 116:  # t
            table[key] = b[o] != 0
            o += 1
        else:
            reader = readers.get(code)
            if reader is None:
                raise _unknown_type(code)
            table[key], o = reader(b, o)
    if o != end:
        raise CodecError("a field table's entries overrun its declared length")
    return table, o


def decode_array(b: bytes, o: int) -> tuple[list[Any], int]:
    """Decode the field array whose long length prefix starts at ``o``."""
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise CodecError("a field array runs past the end of its frame")
    o += 4
    items: list[Any] = []
    readers = _READERS
    while o < end:
        code = b[o]
        reader = readers.get(code)
        if reader is None:
            raise _unknown_type(code)
        value, o = reader(b, o + 1)
        items.append(value)
    if o != end:
        raise CodecError("a field array's values overrun its declared length")
    return items, o


# --- encoding -------------------------------------------------------------------------------------


def _utf8(value: str | bytes | bytearray | memoryview, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise EncodeError(f"{what} must be str or bytes, not {type(value).__name__}")


def encode_shortstr(value: str | bytes) -> bytes:
    """A short string: one length octet, then at most 255 bytes."""
    raw = _utf8(value, "a short string")
    if len(raw) > 255:
        raise EncodeError(f"a short string holds at most 255 bytes, got {len(raw)}")
    return bytes((len(raw),)) + raw


def encode_longstr(value: str | bytes) -> bytes:
    """A long string: a 32-bit length, then the bytes."""
    raw = _utf8(value, "a long string")
    return _U32.pack(len(raw)) + raw


def type_code(value: Any) -> str:
    """The field type code a value is encoded with (what RabbitMQ's clients pick for plain ones)."""
    if value is None:
        return "V"
    if isinstance(value, bool):
        return "t"
    if isinstance(value, TypedInt):
        return value.code.decode()
    if isinstance(value, int):
        return "I" if -(2**31) <= value < 2**31 else "l"
    if isinstance(value, Float32):
        return "f"
    if isinstance(value, float):
        return "d"
    if isinstance(value, decimal.Decimal):
        return "D"
    if isinstance(value, str | StringBytes):
        return "S"
    if isinstance(value, bytes | bytearray | memoryview):
        return "x"
    if isinstance(value, dt.datetime):
        return "T"
    if isinstance(value, Mapping):
        return "F"
    if isinstance(value, list | tuple):
        return "A"
    raise EncodeError(f"no AMQP field type for a {type(value).__name__} value")


def decimal_parts(value: decimal.Decimal) -> tuple[int, int]:
    """(scale, unscaled value) of an AMQP decimal; ValueError when it does not fit one."""
    if not value.is_finite():
        raise ValueError(f"{str(value)!r} is not a finite decimal")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an int exponent
    scale = max(0, -exponent)
    unscaled = int(value.scaleb(scale))
    if scale > 255 or not -(2**31) <= unscaled < 2**31:
        raise ValueError(
            f"{str(value)!r} does not fit an AMQP decimal "
            "(a 32-bit value with up to 255 decimal places)"
        )
    return scale, unscaled


def _finite(value: float, where: str) -> None:
    # RabbitMQ closes the connection (541) on NaN or infinity: refuse them here instead.
    if not math.isfinite(value):
        raise EncodeError(f"{where}: {float(value)} is not a finite number; brokers refuse it")


def _e_int(value: Any, where: str) -> bytes:
    if -(2**31) <= value < 2**31:
        return b"I" + _I32.pack(value)
    if -(2**63) <= value < 2**63:
        return b"l" + _I64.pack(value)
    raise EncodeError(f"{where}: {value} does not fit a 64-bit integer")


_INT_PACKERS: dict[bytes, struct.Struct] = {
    b"b": _I8,
    b"B": _U8,
    b"s": _I16,
    b"u": _U16,
    b"I": _I32,
    b"i": _U32,
    b"l": _I64,
    b"L": _I64,
    b"T": _U64,
}


def _e_typed_int(value: Any, where: str) -> bytes:
    code: bytes = value.code
    try:
        return code + _INT_PACKERS[code].pack(value)
    except (KeyError, struct.error):
        raise EncodeError(
            f"{where}: {int(value)} does not fit field type {code.decode()!r}"
        ) from None


def _e_float32(value: Any, where: str) -> bytes:
    _finite(value, where)
    if abs(value) > _FLOAT32_MAX:
        raise EncodeError(f"{where}: {float(value):g} does not fit a 32-bit float (use :double)")
    return b"f" + _F32.pack(value)


def _e_float(value: Any, where: str) -> bytes:
    _finite(value, where)
    return b"d" + _F64.pack(value)


def _e_str(value: Any, where: str) -> bytes:
    raw: bytes = value.encode("utf-8")
    return b"S" + _U32.pack(len(raw)) + raw


def _e_string_bytes(value: Any, where: str) -> bytes:
    return b"S" + _U32.pack(len(value)) + bytes(value)


def _e_bytes(value: Any, where: str) -> bytes:
    raw = bytes(value)
    return b"x" + _U32.pack(len(raw)) + raw


def _e_datetime(value: Any, where: str) -> bytes:
    seconds = encode_timestamp(value)
    if seconds < 0:
        raise EncodeError(f"{where}: timestamps before 1970 cannot be sent")
    return b"T" + _U64.pack(seconds)


def _e_decimal(value: Any, where: str) -> bytes:
    try:
        scale, unscaled = decimal_parts(value)
    except ValueError as exc:
        raise EncodeError(f"{where}: {exc}") from None
    return b"D" + _DEC.pack(scale, unscaled)


def _e_table(value: Any, where: str) -> bytes:
    return b"F" + encode_table(value)


def _e_array(value: Any, where: str) -> bytes:
    return b"A" + encode_array(value, where)


def _e_none(value: Any, where: str) -> bytes:
    return b"V"


def _e_bool(value: Any, where: str) -> bytes:
    return b"t\x01" if value else b"t\x00"


_Encoder = Callable[[Any, str], bytes]

# by exact type first (one dict look-up for the common values), then by kind for subclasses
_ENCODERS: dict[type, _Encoder] = {
    type(None): _e_none,
    bool: _e_bool,
    int: _e_int,
    float: _e_float,
    Float32: _e_float32,
    str: _e_str,
    StringBytes: _e_string_bytes,
    bytes: _e_bytes,
    bytearray: _e_bytes,
    memoryview: _e_bytes,
    dict: _e_table,
    list: _e_array,
    tuple: _e_array,
    decimal.Decimal: _e_decimal,
    dt.datetime: _e_datetime,
}
for _cls in (Int8, UInt8, Int16, UInt16, UInt32, Int64, Int64L, TimestampSeconds):
    _ENCODERS[_cls] = _e_typed_int
_BY_KIND: tuple[tuple[type | tuple[type, ...], _Encoder], ...] = (
    (bool, _e_bool),
    (TypedInt, _e_typed_int),
    (int, _e_int),
    (Float32, _e_float32),
    (float, _e_float),
    (str, _e_str),
    (StringBytes, _e_string_bytes),
    ((bytes, bytearray, memoryview), _e_bytes),
    (dt.datetime, _e_datetime),
    (decimal.Decimal, _e_decimal),
    (Mapping, _e_table),
    ((list, tuple), _e_array),
)


def _encoder_of(value: Any, where: str) -> _Encoder:
    for kind, encoder in _BY_KIND:
        if isinstance(value, kind):
            return encoder
    raise EncodeError(f"{where}: {type(value).__name__} cannot be sent as an AMQP field value")


def encode_value(value: Any, where: str = "value") -> bytes:
    """One field value with its type code in front; the value's class chooses the code."""
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        encoder = _encoder_of(value, where)
    return encoder(value, where)


def _key(key: Any) -> bytes:
    name = key if isinstance(key, bytes) else str(key).encode("utf-8")
    if len(name) > 255:
        raise EncodeError(f"header name {str(key)[:40]!r}... is longer than 255 bytes")
    return bytes((len(name),)) + name


def encode_table(table: Mapping[Any, Any] | None) -> bytes:
    """A field table with its 32-bit length prefix; a bytes key is written as it is."""
    if table is None:
        return b"\x00\x00\x00\x00"
    if not isinstance(table, Mapping):
        raise EncodeError(f"a field table must be a mapping, not {type(table).__name__}")
    parts = [_key(key) + encode_value(value, str(key)) for key, value in table.items()]
    body = b"".join(parts)
    return _U32.pack(len(body)) + body


def encode_array(items: Sequence[Any], where: str = "array") -> bytes:
    """A field array with its 32-bit byte-length prefix."""
    if not isinstance(items, list | tuple):
        raise EncodeError(f"a field array must be a list, not {type(items).__name__}")
    body = b"".join(encode_value(item, f"{where}[{i}]") for i, item in enumerate(items))
    return _U32.pack(len(body)) + body

"""AMQP 0-9-1 values: strings, timestamps, field tables and arrays, in both directions.

Field-table type codes follow RabbitMQ's errata to the 0-9-1 spec (the codes RabbitMQ, pika and the
Java client actually put on the wire), not the spec's own table:

====  =========================  ==========================================================
code  wire                       Python value
====  =========================  ==========================================================
t     octet 0/1                  bool
b     signed 8-bit               int
B     unsigned 8-bit             int
s     signed 16-bit              int  (the spec says "short string"; RabbitMQ uses a short)
u     unsigned 16-bit            int
I     signed 32-bit              int
i     unsigned 32-bit            int
l     signed 64-bit              int  (signed, per RabbitMQ; ``L`` is read as the same)
f     IEEE 754 single            float
d     IEEE 754 double            float
D     scale octet + signed 32    decimal.Decimal (value * 10**-scale, exponent kept)
S     long string                str, or bytes when it is not valid UTF-8
A     array (long byte length)   list
T     unsigned 64-bit seconds    datetime (timezone-aware, UTC); int when out of range
F     nested table               dict
V     nothing                    None
x     byte array (long length)   bytes
====  =========================  ==========================================================

Short and long strings decode to ``str`` when they are valid UTF-8 and to ``bytes`` otherwise, so
nothing is lost and re-encoding gives the same bytes. Table keys follow the same rule.

Plain decoding loses the type code (``b`` and ``I`` both give ``int``); :func:`decode_table_typed`
keeps it as :class:`TypedValue` pairs, and the encoder accepts ``TypedValue`` anywhere in a table or
array, so typed decode -> encode reproduces the original bytes exactly.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from mqctl.errors import BadInput

__all__ = [
    "FIELD_TYPE_NAMES",
    "CodecError",
    "EncodeError",
    "TypedValue",
    "decode_array",
    "decode_table",
    "decode_table_typed",
    "decode_timestamp",
    "encode_array",
    "encode_longstr",
    "encode_shortstr",
    "encode_table",
    "encode_timestamp",
    "encode_value",
    "guess_type_code",
]


class CodecError(BadInput):
    """Base class of every exception the codec raises (bad input: exit status 4 in the CLI)."""


class EncodeError(CodecError):
    """A value cannot be encoded: wrong type, out of range, unknown name."""


class TableError(CodecError):
    """A field table or array on the wire is malformed (raised by the decoders in this module)."""


class TypedValue(NamedTuple):
    """A field-table value with its one-letter AMQP type code, e.g. ``TypedValue("s", -3)``.

    In typed decoding, nested tables are ``dict[str, TypedValue]`` and arrays ``list[TypedValue]``.
    """

    type_code: str
    value: Any


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

_u32 = _U32.unpack_from
_i32 = _I32.unpack_from
_i64 = _I64.unpack_from
_u64 = _U64.unpack_from


def decode_timestamp(seconds: int) -> dt.datetime | int:
    """A timezone-aware UTC datetime for POSIX seconds; the int itself when out of range."""
    try:
        return _EPOCH + seconds * _ONE_SECOND
    except OverflowError:
        return seconds


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
    return _I8.unpack_from(b, o)[0], o + 1


def _r_u8(b: bytes, o: int) -> tuple[Any, int]:
    return b[o], o + 1


def _r_i16(b: bytes, o: int) -> tuple[Any, int]:
    return _I16.unpack_from(b, o)[0], o + 2


def _r_u16(b: bytes, o: int) -> tuple[Any, int]:
    return _U16.unpack_from(b, o)[0], o + 2


def _r_i32(b: bytes, o: int) -> tuple[Any, int]:
    return _i32(b, o)[0], o + 4


def _r_u32(b: bytes, o: int) -> tuple[Any, int]:
    return _u32(b, o)[0], o + 4


def _r_i64(b: bytes, o: int) -> tuple[Any, int]:
    return _i64(b, o)[0], o + 8


def _r_f32(b: bytes, o: int) -> tuple[Any, int]:
    return _F32.unpack_from(b, o)[0], o + 4


def _r_f64(b: bytes, o: int) -> tuple[Any, int]:
    return _F64.unpack_from(b, o)[0], o + 8


def _r_decimal(b: bytes, o: int) -> tuple[Any, int]:
    scale, raw = _DEC.unpack_from(b, o)
    return decimal.Decimal(raw).scaleb(-scale), o + 5


def _r_longstr(b: bytes, o: int) -> tuple[Any, int]:
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise TableError("a long string runs past the end of its field table")
    return _text(b[o + 4 : end]), end


def _r_bytes(b: bytes, o: int) -> tuple[Any, int]:
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise TableError("a byte array runs past the end of its field table")
    return b[o + 4 : end], end


def _r_timestamp(b: bytes, o: int) -> tuple[Any, int]:
    return decode_timestamp(_u64(b, o)[0]), o + 8


def _r_void(b: bytes, o: int) -> tuple[Any, int]:
    return None, o


def _r_table(b: bytes, o: int) -> tuple[Any, int]:
    return decode_table(b, o)


def _r_array(b: bytes, o: int) -> tuple[Any, int]:
    return decode_array(b, o)


_READERS: dict[int, _Reader] = {
    ord("t"): _r_bool,
    ord("b"): _r_i8,
    ord("B"): _r_u8,
    ord("s"): _r_i16,
    ord("u"): _r_u16,
    ord("I"): _r_i32,
    ord("i"): _r_u32,
    ord("l"): _r_i64,
    ord("L"): _r_i64,
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


def _unknown_type(code: int) -> TableError:
    shown = chr(code) if 32 < code < 127 else f"0x{code:02x}"
    return TableError(f"unknown field-table type code {shown!r}")


def decode_table(b: bytes, o: int) -> tuple[dict[str, Any], int]:
    """Decode the field table whose length prefix starts at ``o``; return it and the end offset.

    Raises :class:`TableError` (or ``IndexError``/``struct.error`` on truncation, which callers turn
    into a decode problem).
    """
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise TableError("a field table runs past the end of its frame")
    o += 4
    table: dict[str, Any] = {}
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
            value_end = o + 4 + _u32(b, o)[0]
            if value_end > end:
                raise TableError("a long string runs past the end of its field table")
            try:
                table[key] = b[o + 4 : value_end].decode()
            except UnicodeDecodeError:
                table[key] = b[o + 4 : value_end]
            o = value_end
        elif code == 73:  # I
            table[key] = _i32(b, o)[0]
            o += 4
        elif code == 108:  # l
            table[key] = _i64(b, o)[0]
            o += 8
        elif code == 116:  # t
            table[key] = b[o] != 0
            o += 1
        else:
            reader = readers.get(code)
            if reader is None:
                raise _unknown_type(code)
            table[key], o = reader(b, o)
    if o != end:
        raise TableError("a field table's entries overrun its declared length")
    return table, o


def decode_array(b: bytes, o: int) -> tuple[list[Any], int]:
    """Decode the field array whose long length prefix starts at ``o``."""
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise TableError("a field array runs past the end of its frame")
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
        raise TableError("a field array's values overrun its declared length")
    return items, o


def _typed_value(b: bytes, o: int) -> tuple[TypedValue, int]:
    code = b[o]
    if code == 70:  # F
        table, o = decode_table_typed(b, o + 1)
        return TypedValue("F", table), o
    if code == 65:  # A
        end = o + 5 + _u32(b, o + 1)[0]
        if end > len(b):
            raise TableError("a field array runs past the end of its frame")
        o += 5
        items: list[TypedValue] = []
        while o < end:
            item, o = _typed_value(b, o)
            items.append(item)
        if o != end:
            raise TableError("a field array's values overrun its declared length")
        return TypedValue("A", items), o
    reader = _READERS.get(code)
    if reader is None:
        raise _unknown_type(code)
    value, o = reader(b, o + 1)
    return TypedValue(chr(code), value), o


def decode_table_typed(b: bytes, o: int) -> tuple[dict[Any, TypedValue], int]:
    """Like :func:`decode_table`, but every value is a :class:`TypedValue` (nested ones too)."""
    end = o + 4 + _u32(b, o)[0]
    if end > len(b):
        raise TableError("a field table runs past the end of its frame")
    o += 4
    table: dict[Any, TypedValue] = {}
    while o < end:
        key_end = o + 1 + b[o]
        key = _text(b[o + 1 : key_end])
        table[key], o = _typed_value(b, key_end)
    if o != end:
        raise TableError("a field table's entries overrun its declared length")
    return table, o


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


def guess_type_code(value: Any) -> str:
    """The type code a plain Python value is encoded with (what RabbitMQ's clients pick)."""
    if isinstance(value, TypedValue):
        return value.type_code
    if value is None:
        return "V"
    if isinstance(value, bool):
        return "t"
    if isinstance(value, int):
        return "I" if -(2**31) <= value < 2**31 else "l"
    if isinstance(value, float):
        return "d"
    if isinstance(value, decimal.Decimal):
        return "D"
    if isinstance(value, str):
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


def _decimal_parts(value: Any) -> tuple[int, int]:
    if not isinstance(value, decimal.Decimal) or not value.is_finite():
        raise EncodeError(f"a decimal field needs a finite decimal.Decimal, got {value!r}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an int exponent
    scale = max(0, -exponent)
    return scale, int(value.scaleb(scale))


_PACKERS: dict[str, struct.Struct] = {
    "b": _I8,
    "B": _U8,
    "s": _I16,
    "u": _U16,
    "I": _I32,
    "i": _U32,
    "l": _I64,
    "L": _I64,
    "f": _F32,
    "d": _F64,
}


def encode_value(value: Any) -> bytes:
    """One field value with its type code in front; ``TypedValue`` chooses the code explicitly."""
    if isinstance(value, TypedValue):
        code, value = value
    else:
        code = guess_type_code(value)
    packer = _PACKERS.get(code)
    try:
        if packer is not None:
            if code in "fd":
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise EncodeError(f"type {code!r} needs a float, got {value!r}")
            elif not isinstance(value, int) or isinstance(value, bool):
                raise EncodeError(f"type {code!r} needs an int, got {value!r}")
            return code.encode() + packer.pack(value)
    except struct.error as exc:
        raise EncodeError(f"{value!r} does not fit field type {code!r}: {exc}") from None
    if code == "S":
        return b"S" + encode_longstr(value)
    if code == "t":
        return b"t\x01" if value else b"t\x00"
    if code == "F":
        return b"F" + encode_table(value)
    if code == "A":
        return b"A" + encode_array(value)
    if code == "V":
        return b"V"
    if code == "x":
        raw = _utf8(value, "a byte array")
        return b"x" + _U32.pack(len(raw)) + raw
    if code == "T":
        try:
            return b"T" + _U64.pack(encode_timestamp(value))
        except struct.error:
            raise EncodeError(f"timestamp {value!r} is out of range") from None
    if code == "D":
        scale, raw_int = _decimal_parts(value)
        try:
            return b"D" + _DEC.pack(scale, raw_int)
        except struct.error:
            raise EncodeError(f"decimal {value!r} does not fit scale octet + 32 bits") from None
    raise EncodeError(f"unknown field type code {code!r}")


def encode_table(table: Mapping[Any, Any] | None) -> bytes:
    """A field table with its 32-bit length prefix; values may be plain or :class:`TypedValue`."""
    if table is None:
        return b"\x00\x00\x00\x00"
    if not isinstance(table, Mapping):
        raise EncodeError(f"a field table must be a mapping, not {type(table).__name__}")
    parts = [encode_shortstr(key) + encode_value(value) for key, value in table.items()]
    body = b"".join(parts)
    return _U32.pack(len(body)) + body


def encode_array(items: Sequence[Any]) -> bytes:
    """A field array with its 32-bit byte-length prefix."""
    if not isinstance(items, list | tuple):
        raise EncodeError(f"a field array must be a list, not {type(items).__name__}")
    body = b"".join(encode_value(item) for item in items)
    return _U32.pack(len(body)) + body

"""The typed field values: AMQP field types that Python's plain types cannot tell apart.

A decoded field table holds plain values where the type is the natural one (``int`` for a signed
32-bit ``I``, or a 64-bit ``l`` beyond 32 bits; ``float`` for a double; ``str``; ``bytes`` for a
byte array ``x``) and one of these classes where it is not (an ``Int8`` for ``b``, a ``Float32``
for ``f``, ``StringBytes`` for a long string that is not UTF-8, ...). They subclass ``int``,
``float`` and ``bytes``, so code that reads values (pika, JSON encoders, comparisons) sees numbers
and bytes, and the encoder reads the type back from the class: decode -> encode gives the same
bytes. This is the one typed-value representation of mqctl (wire, messaging and topology).

Kept in a module of its own, outside the compiled codec: mypyc cannot compile subclasses of
``int``, ``float`` or ``bytes``.
"""

from __future__ import annotations


class TypedInt(int):
    """An integer with an explicit AMQP width; a plain ``int`` is a signed 32-bit (or 64-bit) one."""

    kind = "int32"
    code = b"I"
    low, high = -(2**31), 2**31 - 1

    def __new__(cls, value: int) -> TypedInt:
        number = int(value)
        if not cls.low <= number <= cls.high:
            raise ValueError(f"{number} is out of range for {cls.kind} ({cls.low}..{cls.high})")
        return super().__new__(cls, number)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    def __str__(self) -> str:
        return int.__repr__(self)  # shown as the number it is (str() would use __repr__)


class Int8(TypedInt):
    kind, code, low, high = "int8", b"b", -128, 127


class UInt8(TypedInt):
    kind, code, low, high = "uint8", b"B", 0, 255


class Int16(TypedInt):
    kind, code, low, high = "int16", b"s", -(2**15), 2**15 - 1


class UInt16(TypedInt):
    kind, code, low, high = "uint16", b"u", 0, 2**16 - 1


class Int32(TypedInt):
    kind, code, low, high = "int32", b"I", -(2**31), 2**31 - 1


class UInt32(TypedInt):
    kind, code, low, high = "uint32", b"i", 0, 2**32 - 1


class Int64(TypedInt):
    kind, code, low, high = "int64", b"l", -(2**63), 2**63 - 1


class Int64L(Int64):
    """A signed 64-bit integer that came as type code ``L`` (a few clients write it for ``l``)."""

    code = b"L"


class TimestampSeconds(TypedInt):
    """A ``T`` timestamp beyond what ``datetime`` holds (after the year 9999): its raw seconds."""

    kind, code, low, high = "timestamp", b"T", 0, 2**64 - 1


class Float32(float):
    """A 32-bit AMQP float ('f'); a plain ``float`` is a double ('d')."""

    kind = "float"

    def __repr__(self) -> str:
        return f"Float32({float(self)!r})"

    def __str__(self) -> str:
        return float.__repr__(self)


class StringBytes(bytes):
    """An AMQP long string whose content is not UTF-8 (kept as the raw bytes)."""

    kind = "string_base64"


#: the integer classes a user can name (``--header n:uint16=5``, ``{"uint16": 5}``)
INT_TYPES: dict[str, type[TypedInt]] = {
    cls.kind: cls for cls in (Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64)
}

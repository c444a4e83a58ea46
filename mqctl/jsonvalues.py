"""AMQP values as JSON: one mapping shared by `consume`, `wire` and `topology`.

timestamps -> ISO 8601 UTC strings ("2023-11-14T22:13:20Z"), decimals -> strings, byte arrays ->
{"bytes": "<base64>"}, tables -> objects, arrays -> lists, void -> null.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from mqctl.wire.fieldtypes import (
    INT_TYPES,
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
)
from mqctl.wire.values import decimal_parts

__all__ = [
    "INT_TYPES",
    "MARKERS",
    "Float32",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "JsonValue",
    "StringBytes",
    "TypedInt",
    "UInt8",
    "UInt16",
    "UInt32",
    "from_typed_json",
    "iso_utc",
    "parse_decimal",
    "parse_timestamp",
    "to_json",
    "to_typed_json",
]

JsonValue = Any


def iso_utc(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text + "Z"


def to_json(value: Any) -> JsonValue:
    """A JSON-ready rendering of a decoded AMQP value (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


# --- typed values: lossless AMQP field values as JSON (consume --format jsonl, publish --input) ---
#
# JSON numbers, strings, booleans, null, arrays and objects map to the natural AMQP field types
# (an integer to a signed 32-bit int, or 64-bit when it does not fit; a fraction to a double).
# Every other field type is written as a one-key object, its marker:
#   {"timestamp": "2024-01-02T03:04:05Z"}  {"decimal": "3.14"}  {"bytes": "<base64>"}
#   {"float": 1.5} (32-bit)  {"int8": 1} {"uint8": 1} {"int16": 1} {"uint16": 1} {"uint32": 1}
#   {"int64": 1} (only when the value would fit a 32-bit int)  {"string_base64": "..."} (a long
#   string that is not UTF-8); {"int32": 1} and {"double": 1} are also read.
# A real table whose only key happens to be a marker name is written {"table": {...}}, so the
# mapping reads back exactly what it wrote. The plain `to_json` above renders the same values
# without markers (the classes of `mqctl.wire.fieldtypes` subclass int/float/bytes).


MARKERS = frozenset(
    {"timestamp", "decimal", "bytes", "float", "double", "string_base64", "table", *INT_TYPES}
)


def to_typed_json(value: Any) -> JsonValue:
    """The lossless JSON form of an AMQP field value (see the section comment)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, TypedInt):
        canonical = type(value) is Int32 or (type(value) is Int64 and not _fits_int32(value))
        return int(value) if canonical else {value.kind: int(value)}
    if isinstance(value, int):
        return value
    if isinstance(value, Float32):
        return {"float": float(value)}
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        table = {str(key): to_typed_json(item) for key, item in value.items()}
        return {"table": table} if len(table) == 1 and next(iter(table)) in MARKERS else table
    if isinstance(value, list | tuple):
        return [to_typed_json(item) for item in value]
    if isinstance(value, StringBytes):
        return {"string_base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"timestamp": iso_utc(value)}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    raise TypeError(f"not an AMQP field value: {type(value).__name__}")


def from_typed_json(value: JsonValue) -> Any:
    """The AMQP field value a `to_typed_json` rendering stands for; ValueError when malformed."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if _fits_int32(value) else Int64(value)
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [from_typed_json(item) for item in value]
    if not isinstance(value, Mapping):
        raise ValueError(f"not a JSON value: {type(value).__name__}")
    if len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in MARKERS:
            return _from_marker(kind, inner)
    return {str(key): from_typed_json(item) for key, item in value.items()}


def parse_timestamp(text: str | int | float) -> dt.datetime:
    """Epoch seconds or ISO 8601 (no zone means UTC) -> an aware UTC datetime; ValueError if not."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    raw = str(text).strip()
    if raw.lstrip("-").isdigit():
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    if raw.lower() == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "zZ" else raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a timestamp (epoch seconds or ISO 8601)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_decimal(text: str | int | float | decimal.Decimal) -> decimal.Decimal:
    """An AMQP decimal: at most 255 decimal places and a signed 32-bit unscaled value."""
    try:
        number = decimal.Decimal(str(text).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite decimal")
    try:
        decimal_parts(number)
    except ValueError:
        raise ValueError(
            f"{text!r} does not fit an AMQP decimal (a 32-bit value with up to 255 decimal places)"
        ) from None
    return number


def _from_marker(kind: str, inner: Any) -> Any:
    if kind == "table":
        if not isinstance(inner, Mapping):
            raise ValueError('{"table": ...} needs an object')
        return {str(key): from_typed_json(item) for key, item in inner.items()}
    if kind in ("bytes", "string_base64"):
        if not isinstance(inner, str):
            raise ValueError(f'{{"{kind}": ...}} needs a base64 string')
        try:
            raw = base64.b64decode(inner, validate=True)
        except ValueError:
            raise ValueError(f'{{"{kind}": ...}}: {inner[:20]!r} is not valid base64') from None
        return StringBytes(raw) if kind == "string_base64" else raw
    if kind == "timestamp":
        return parse_timestamp(inner)
    if kind == "decimal":
        return parse_decimal(inner)
    if kind in ("float", "double"):
        if isinstance(inner, bool) or not isinstance(inner, int | float | str):
            raise ValueError(f'{{"{kind}": ...}} needs a number')
        number = float(inner)
        return Float32(number) if kind == "float" else number
    if isinstance(inner, bool) or not isinstance(inner, int | str):
        raise ValueError(f'{{"{kind}": ...}} needs an integer')
    try:
        return INT_TYPES[kind](int(inner))
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _fits_int32(value: int) -> bool:
    return -(2**31) <= value <= 2**31 - 1

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

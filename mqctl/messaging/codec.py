"""pika on mqctl's field-value codec: basic properties and field tables with every type kept.

pika's own table codec cannot send floats, reads floats back as integers, and forgets integer
widths. `TypedBasicProperties` encodes and decodes the basic properties with the wire codec
(`mqctl.wire.values`, the generated property table of `mqctl.wire._spec`), so that a header
published as a uint16 or a 32-bit float is read back as one, and a header key that is not UTF-8
comes back as the same bytes. The values are the classes of `mqctl.wire.fieldtypes` (Int8,
Float32, ...), which subclass int, float and bytes: pika-compatible.

`install()` makes pika build these for every incoming content header in this process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pika.data
import pika.spec

from mqctl.wire.encoder import encode_properties
from mqctl.wire.methods import PROPERTIES
from mqctl.wire.properties import decode_properties
from mqctl.wire.values import encode_table, encode_timestamp

BASIC = 60
#: the 14 basic properties in wire order, from the generated spec table
PROPERTY_NAMES = tuple(prop.name for prop in PROPERTIES[BASIC])


class TypedBasicProperties(pika.spec.BasicProperties):  # type: ignore[misc]
    """pika's BasicProperties with a lossless header codec. `timestamp` is epoch seconds."""

    _encoded: list[bytes] | None = None

    def encode(self) -> list[bytes]:
        # The same object is often published many times (--count): encode it once.
        if self._encoded is None:
            values = {name: getattr(self, name, None) for name in PROPERTY_NAMES}
            self._encoded = [encode_properties(BASIC, values)]
        return list(self._encoded)  # a copy: pika inserts its frame header into the list

    def decode(self, encoded: bytes, offset: int = 0) -> TypedBasicProperties:
        for name, value in decode_properties(BASIC, encoded, offset).items():
            if isinstance(value, dt.datetime):  # pika's timestamp is epoch seconds
                value = encode_timestamp(value)
            setattr(self, name, value)
        return self


def install() -> None:
    """Make pika decode every incoming basic content header with `TypedBasicProperties`."""
    pika.spec.props[pika.spec.BasicProperties.INDEX] = TypedBasicProperties


def install_table_encoder() -> None:
    """Make pika encode the field tables of the methods it sends (declare and bind arguments,
    say) with mqctl's `encode_table`, so that floats and typed integers go out as they were
    given (pika's own encoder refuses floats)."""
    pika.data.encode_table = _pika_encode_table


def _pika_encode_table(pieces: list[bytes], table: Mapping[str, Any] | None) -> int:
    # pika's signature: append the encoded table to `pieces`, return its size.
    encoded = encode_table(table or {})
    pieces.append(encoded)
    return len(encoded)

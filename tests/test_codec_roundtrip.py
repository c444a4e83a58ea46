"""Property-based round trips: every method, random field tables/arrays with every type code, and
random content properties go objects -> bytes -> objects -> bytes exactly.

Floats exclude NaN and infinities (the encoder refuses them, as brokers do); everything else
round-trips bit for bit, the decoded values' classes keeping every type code.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mqctl.wire import (
    METHODS,
    PROPERTIES,
    FrameDecoder,
    HeaderFrame,
    MethodFrame,
    MethodSpec,
    encode_header,
    encode_method,
)
from mqctl.wire.fieldtypes import (
    Float32,
    Int8,
    Int16,
    Int64,
    Int64L,
    StringBytes,
    TimestampSeconds,
    UInt8,
    UInt16,
    UInt32,
)
from mqctl.wire.values import decode_array, decode_table, encode_table, type_code

EXAMPLES = settings(max_examples=100, deadline=None)

short_text = st.text(max_size=20).filter(lambda s: len(s.encode()) <= 255)
invalid_utf8 = st.binary(min_size=1, max_size=10).filter(lambda b: not _is_utf8(b))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _int(bits: int, signed: bool) -> st.SearchStrategy[int]:
    if signed:
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.integers(0, 2**bits - 1)


def _decimal(scale: int, raw: int) -> decimal.Decimal:
    return decimal.Decimal(raw).scaleb(-scale)


def _timestamp(seconds: int) -> Any:
    try:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    except OverflowError:
        return TimestampSeconds(seconds)


def _finite_floats(width: int) -> st.SearchStrategy[float]:
    return st.floats(width=width, allow_nan=False, allow_infinity=False)  # type: ignore[arg-type]


SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "t": st.booleans(),
    "b": _int(8, True).map(Int8),
    "B": _int(8, False).map(UInt8),
    "s": _int(16, True).map(Int16),
    "u": _int(16, False).map(UInt16),
    "I": _int(32, True),
    "i": _int(32, False).map(UInt32),
    "l": _int(64, True).map(Int64),
    "L": _int(64, True).map(Int64L),
    "f": _finite_floats(32).map(Float32),
    "d": _finite_floats(64),
    "D": st.builds(_decimal, st.integers(0, 12), _int(32, True)),
    "S": st.text(max_size=30) | invalid_utf8.map(StringBytes),
    "T": st.builds(_timestamp, st.integers(0, 2**64 - 1) | st.integers(0, 2**35)),
    "V": st.none(),
    "x": st.binary(max_size=30),
}

typed_scalar = st.one_of(list(SCALARS.values()))
table_key = short_text | invalid_utf8.filter(lambda b: len(b) <= 255)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(table_key, children, max_size=4), st.lists(children, max_size=4)
    )


typed_value = st.recursive(typed_scalar, _extend, max_leaves=12)
typed_table = st.dictionaries(table_key, typed_value, max_size=6)


def shape(value: Any) -> Any:
    """A value with the type code of every item beside it: equal shapes mean equal types too."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return (type_code(value), value)


@EXAMPLES
@given(typed_table)
def test_field_tables_round_trip_with_every_type_code(table: dict[Any, Any]) -> None:
    raw = encode_table(table)
    decoded, end = decode_table(raw, 0)
    assert end == len(raw)
    assert shape(decoded) == shape(table)
    assert encode_table(decoded) == raw


@EXAMPLES
@given(st.lists(typed_value, max_size=6))
def test_field_arrays_round_trip(items: list[Any]) -> None:
    raw = encode_table({"a": items})[4 + 2 + 1 :]  # the array after its key/code
    decoded, end = decode_array(raw, 0)
    assert (shape(decoded), end) == (shape(items), len(raw))


ARGUMENT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "bit": st.booleans(),
    "octet": _int(8, False),
    "short": _int(16, False),
    "long": _int(32, False),
    "longlong": _int(64, False),
    "shortstr": short_text,
    "longstr": st.text(max_size=40) | invalid_utf8,
    "table": typed_table,
}


@st.composite
def method_and_args(draw: st.DrawFn) -> tuple[MethodSpec, dict[str, Any]]:
    spec = draw(st.sampled_from(METHODS))
    args = {arg.name: draw(ARGUMENT_VALUES[arg.amqp_type]) for arg in spec.arguments}
    return spec, args


@settings(max_examples=300, deadline=None)
@given(method_and_args(), _int(16, False))
def test_every_method_round_trips(case: tuple[MethodSpec, dict[str, Any]], channel: int) -> None:
    spec, args = case
    raw = encode_method(channel, spec.name, args)
    decoder = FrameDecoder()
    decoder.feed(raw)
    (frame,) = list(decoder)
    assert isinstance(frame, MethodFrame)
    assert (frame.name, frame.channel) == (spec.name, channel)
    assert shape(frame.args) == shape(args)
    assert encode_method(channel, spec.name, frame.args) == raw
    assert frame.to_bytes() == raw


PROPERTY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **ARGUMENT_VALUES,
    "timestamp": st.builds(_timestamp, st.integers(0, 2**64 - 1) | st.integers(0, 2**35)),
}


@st.composite
def basic_properties(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.sets(st.sampled_from([p.name for p in PROPERTIES[60]])))
    types = {p.name: p.amqp_type for p in PROPERTIES[60]}
    return {name: draw(PROPERTY_VALUES[types[name]]) for name in sorted(chosen)}


@EXAMPLES
@given(basic_properties(), _int(64, False), _int(16, False))
def test_content_headers_round_trip(props: dict[str, Any], body_size: int, weight: int) -> None:
    raw = encode_header(7, 60, body_size, props, weight=weight)
    decoder = FrameDecoder()
    decoder.feed(raw)
    (frame,) = list(decoder)
    assert isinstance(frame, HeaderFrame)
    assert (frame.body_size, frame.weight, frame.class_id) == (body_size, weight, 60)
    assert shape(frame.properties) == shape(props)
    assert encode_header(7, 60, body_size, frame.properties, weight=weight) == raw

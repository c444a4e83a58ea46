"""Typed AMQP values without a broker: the JSON mapping, the field-table codec (golden bytes and
round trips), header specs and property validation."""

from __future__ import annotations

import datetime as dt
import decimal
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqctl.errors import BadInput
from mqctl.jsonvalues import (
    Float32,
    Int8,
    Int16,
    Int64,
    StringBytes,
    UInt8,
    UInt16,
    UInt32,
    from_typed_json,
    to_json,
    to_typed_json,
)
from mqctl.messaging.codec import PROPERTY_NAMES, TypedBasicProperties
from mqctl.messaging.message import Delivery, Overrides, delivery_record, message_from_record
from mqctl.messaging.properties import (
    PropertyOptions,
    parse_header,
    properties_from_options,
)
from mqctl.wire import FrameDecoder, HeaderFrame, encode_header
from mqctl.wire.values import decode_table, encode_table, encode_value

T = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

# (value, its RabbitMQ field encoding, its typed JSON) — written by hand from the 0-9-1 errata.
GOLDEN = [
    (None, b"V", None),
    (True, b"t\x01", True),
    (Int8(-5), b"b\xfb", {"int8": -5}),
    (UInt8(250), b"B\xfa", {"uint8": 250}),
    (Int16(-300), b"s\xfe\xd4", {"int16": -300}),
    (UInt16(65000), b"u\xfd\xe8", {"uint16": 65000}),
    (7, b"I\x00\x00\x00\x07", 7),
    (UInt32(4_000_000_000), b"i\xee\x6b\x28\x00", {"uint32": 4_000_000_000}),
    (Int64(7), b"l" + struct.pack(">q", 7), {"int64": 7}),
    (2**40, b"l" + struct.pack(">q", 2**40), 2**40),
    (Float32(1.5), b"f\x3f\xc0\x00\x00", {"float": 1.5}),
    (2.25, b"d" + struct.pack(">d", 2.25), 2.25),
    (decimal.Decimal("3.14"), b"D\x02\x00\x00\x01\x3a", {"decimal": "3.14"}),
    ("héllo", b"S\x00\x00\x00\x06h\xc3\xa9llo", "héllo"),
    (StringBytes(b"\xff"), b"S\x00\x00\x00\x01\xff", {"string_base64": "/w=="}),
    (b"\x00\x01", b"x\x00\x00\x00\x02\x00\x01", {"bytes": "AAE="}),
    (T, b"T" + struct.pack(">Q", 1704164645), {"timestamp": "2024-01-02T03:04:05Z"}),
    ([1, "a"], b"A\x00\x00\x00\x0bI\x00\x00\x00\x01S\x00\x00\x00\x01a", [1, "a"]),
    ({"k": True}, b"F\x00\x00\x00\x04\x01kt\x01", {"k": True}),
    ({"bytes": "x"}, b"F\x00\x00\x00\x0c\x05bytesS\x00\x00\x00\x01x", {"table": {"bytes": "x"}}),
]


@pytest.mark.parametrize(("value", "wire", "typed"), GOLDEN, ids=[repr(g[0]) for g in GOLDEN])
def test_golden_field_values(value: object, wire: bytes, typed: object) -> None:
    assert encode_value(value) == wire
    table = encode_table({"v": value})
    decoded, end = decode_table(table, 0)
    assert end == len(table)
    assert decoded == {"v": value}
    assert type(decoded["v"]) is type(value) or isinstance(value, dt.datetime)
    assert to_typed_json(value) == typed
    back = from_typed_json(typed)
    assert back == value and encode_value(back) == wire


def test_plain_mapping_is_unchanged_for_typed_values() -> None:
    # The shared, untyped mapping (wire, topology) keeps rendering these as before.
    assert to_json({"a": Int8(3), "f": Float32(1.5), "t": T, "d": decimal.Decimal("1.0")}) == {
        "a": 3,
        "f": 1.5,
        "t": "2024-01-02T03:04:05Z",
        "d": "1.0",
    }


field_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.integers(-128, 127).map(Int8),
        st.integers(0, 2**16 - 1).map(UInt16),
        st.integers(0, 2**32 - 1).map(UInt32),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(Float32),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
        st.binary(),
        st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
            lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
        ),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=3, min_value=-2000000, max_value=2000000
        ),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=20), field_values, max_size=6))
def test_tables_round_trip_through_wire_and_json(table: dict[str, object]) -> None:
    wire = encode_table(table)
    decoded, _ = decode_table(wire, 0)
    assert encode_table(decoded) == wire
    as_json = {k: to_typed_json(v) for k, v in decoded.items()}
    again = {k: from_typed_json(v) for k, v in as_json.items()}
    assert encode_table(again) == wire


def test_basic_properties_round_trip() -> None:
    props = TypedBasicProperties(
        content_type="application/json",
        headers={"n": UInt8(1)},
        delivery_mode=2,
        priority=9,
        timestamp=1704164645,
        cluster_id="c",
    )
    (encoded,) = props.encode()
    back = TypedBasicProperties().decode(encoded)
    assert {name: getattr(back, name) for name in PROPERTY_NAMES} == {
        "content_type": "application/json",
        "content_encoding": None,
        "headers": {"n": UInt8(1)},
        "delivery_mode": 2,
        "priority": 9,
        "correlation_id": None,
        "reply_to": None,
        "expiration": None,
        "message_id": None,
        "timestamp": 1704164645,
        "type": None,
        "user_id": None,
        "app_id": None,
        "cluster_id": "c",
    }
    assert type(back.headers["n"]) is UInt8


def test_a_header_key_that_is_not_utf8_comes_back_exact_in_messaging_and_wire() -> None:
    # consume (pika with TypedBasicProperties) and wire read (FrameDecoder) decode the same bytes
    # with the same codec: the key stays b"\xff" in both, where consume once made it U+FFFD.
    headers = {b"\xff": "v", "ok": Int16(-2)}
    frame = encode_header(1, 60, 0, {"headers": headers})
    decoder = FrameDecoder()
    decoder.feed(frame)
    (header,) = list(decoder)
    assert isinstance(header, HeaderFrame)
    assert header.properties["headers"] == headers
    consumed = TypedBasicProperties().decode(frame[7 + 12 : -1])  # what pika hands over
    assert consumed.headers == headers and type(consumed.headers["ok"]) is Int16
    assert encode_table(consumed.headers) == encode_table(headers)  # republished unchanged


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("a=1", ("a", 1)),
        ("a=text", ("a", "text")),
        ('a="5"', ("a", "5")),
        ("a=true", ("a", True)),
        ("a=null", ("a", None)),
        ("a=[1,2.5]", ("a", [1, 2.5])),
        ('a={"b": {"bytes": "AAE="}}', ("a", {"b": b"\x00\x01"})),
        ("a:string=5", ("a", "5")),
        ("a:float=1.5", ("a", Float32(1.5))),
        ("a:double=1", ("a", 1.0)),
        ("a:decimal=3.140", ("a", decimal.Decimal("3.140"))),
        ("a:bytes=AAE=", ("a", b"\x00\x01")),
        ("a:timestamp=2024-01-02T03:04:05Z", ("a", T)),
        ("a:timestamp=1704164645", ("a", T)),
        ("a:uint8=255", ("a", UInt8(255))),
        ("a:int64=0x10", ("a", Int64(16))),
        ("a:bool=yes", ("a", True)),
        ("a:void=", ("a", None)),
        ("x-a=b=c", ("x-a", "b=c")),
        ("ns:key:string=v", ("ns:key", "v")),
    ],
)
def test_header_specs(spec: str, expected: tuple[str, object]) -> None:
    name, value = parse_header(spec)
    assert (name, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "novalue",
            "--header 'novalue': expected KEY=VALUE or KEY:TYPE=VALUE; "
            "e.g. --header x-retry=3 or --header sent:timestamp=now",
        ),
        (
            "a:int8=128",
            "--header 'a:int8=128': 128 is out of range for int8 (-128..127); give a valid int8",
        ),
        ("a:bytes=!!", "--header 'a:bytes=!!': '!!' is not base64; give a valid bytes"),
        (
            "a:decimal=x",
            "--header 'a:decimal=x': 'x' is not a decimal number; give a valid decimal",
        ),
        (
            "a:timestamp=soon",
            "--header 'a:timestamp=soon': 'soon' is not a timestamp "
            "(epoch seconds or ISO 8601); give a valid timestamp",
        ),
        (
            "a:colour=red",
            "--header 'a:colour=red': unknown type 'colour'; types: string, json, "
            "bool, bytes, timestamp, decimal, float, double, int8, uint8, int16, uint16, int32, "
            "uint32, int64, void",
        ),
        (
            'a={"int8": 999}',
            "--header 'a={\"int8\": 999}': 999 is out of range for int8 "
            "(-128..127); or use KEY:string=VALUE for text",
        ),
    ],
)
def test_bad_header_specs(spec: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_header(spec)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (PropertyOptions(priority=256), "--priority: priority 256 is out of range; use 0..255"),
        (
            PropertyOptions(delivery_mode="3"),
            "--delivery-mode: '3' is not a delivery mode; use 1, 2, transient or persistent",
        ),
        (
            PropertyOptions(expiration="soon"),
            "--expiration: 'soon' is not a number of milliseconds; e.g. --expiration 60000",
        ),
        (
            PropertyOptions(message_id="x" * 256),
            "--message-id: longer than 255 bytes; AMQP short strings hold 255 bytes",
        ),
        (
            PropertyOptions(properties_json='{"colour": 1}'),
            "--properties-json: unknown property 'colour'; known: content_type, content_encoding, "
            "headers, delivery_mode, priority, correlation_id, reply_to, expiration, message_id, "
            "timestamp, type, user_id, app_id, cluster_id",
        ),
        (
            PropertyOptions(headers=("x:float=1e50",)),
            "--header: x: 1e+50 does not fit a 32-bit float (use :double); "
            "see `mqctl publish --help` for header types",
        ),
        (
            PropertyOptions(headers=("x:float=nan",)),
            "--header: x: nan is not a finite number; brokers refuse it; "
            "see `mqctl publish --help` for header types",
        ),
        (
            PropertyOptions(headers=("x:double=-inf",)),
            "--header: x: -inf is not a finite number; brokers refuse it; "
            "see `mqctl publish --help` for header types",
        ),
        (
            PropertyOptions(headers=('x:json={"a": [1e400]}',)),
            "--header: a[0]: inf is not a finite number; brokers refuse it; "
            "see `mqctl publish --help` for header types",
        ),
        (
            PropertyOptions(properties_json="{"),
            "--properties-json: not valid JSON (Expecting property name enclosed in double quotes "
            "at line 1 column 2); give an object such as "
            '{"content_type": "application/json", "priority": 5}',
        ),
    ],
)
def test_bad_properties(options: PropertyOptions, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        properties_from_options(options)
    assert str(caught.value) == message


def test_flags_override_properties_json_and_merge_headers() -> None:
    props = properties_from_options(
        PropertyOptions(
            priority=1,
            delivery_mode="persistent",
            timestamp="2024-01-02T03:04:05Z",
            headers=("b:int16=2",),
            properties_json='{"priority": 9, "app-id": "x", "headers": {"a": {"uint8": 1}}}',
        )
    )
    assert props == {
        "priority": 1,
        "app_id": "x",
        "delivery_mode": 2,
        "timestamp": 1704164645,
        "headers": {"a": UInt8(1), "b": Int16(2)},
    }


def test_jsonl_record_round_trip() -> None:
    props = TypedBasicProperties(headers={"t": T, "f": Float32(0.5)}, timestamp=1704164645)
    delivery = Delivery("ex", "rk", True, 4, props, b"\xff\x00")
    record = delivery_record(delivery)
    assert record == {
        "exchange": "ex",
        "routing_key": "rk",
        "redelivered": True,
        "delivery_tag": 4,
        "properties": {
            "headers": {"t": {"timestamp": "2024-01-02T03:04:05Z"}, "f": {"float": 0.5}},
            "timestamp": "2024-01-02T03:04:05Z",
        },
        "body": "/wA=",
        "body_encoding": "base64",
    }
    message = message_from_record(record, "line 1", Overrides(routing_key="other"))
    assert (message.exchange, message.routing_key, message.body) == ("ex", "other", b"\xff\x00")
    assert message.properties.encode() == props.encode()

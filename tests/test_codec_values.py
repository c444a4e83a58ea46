"""Field-table type codes (RabbitMQ's errata), strings, timestamps, encoder errors, lookups."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from typing import Any

import pytest

from mqctl.errors import BadInput
from mqctl.jsonvalues import to_json
from mqctl.wire import (
    CLASS_NAMES,
    METHODS,
    METHODS_BY_ID,
    METHODS_BY_NAME,
    PROPERTIES,
    REPLY_CODES,
    CodecError,
    EncodeError,
    encode_header,
    encode_method,
    method_name,
    method_spec,
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
from mqctl.wire.values import (
    FIELD_TYPE_NAMES,
    decode_table,
    encode_table,
    encode_value,
    type_code,
)


def table_with(code: bytes, value_bytes: bytes) -> bytes:
    entry = b"\x01k" + code + value_bytes
    return struct.pack(">I", len(entry)) + entry


# One case per type code, bytes written out by hand from RabbitMQ's errata table.
TYPE_CODES: list[tuple[str, bytes, Any]] = [
    ("t", b"\x01", True),
    ("b", b"\xff", Int8(-1)),
    ("B", b"\xff", UInt8(255)),
    ("s", b"\xff\xfe", Int16(-2)),  # signed 16-bit, not a short string
    ("u", b"\xff\xfe", UInt16(65534)),
    ("I", b"\xff\xff\xff\xfd", -3),
    ("i", b"\xff\xff\xff\xfd", UInt32(4294967293)),
    ("l", b"\xff\xff\xff\xff\xff\xff\xff\xfc", Int64(-4)),  # signed 64-bit
    ("L", b"\xff\xff\xff\xff\xff\xff\xff\xfc", Int64L(-4)),  # read as signed too
    ("f", b"\x3f\xc0\x00\x00", Float32(1.5)),
    ("d", b"\xbf\xf8\x00\x00\x00\x00\x00\x00", -1.5),
    ("D", b"\x02\xff\xff\xff\x85", decimal.Decimal("-1.23")),
    ("S", b"\x00\x00\x00\x03\xc3\xa9a", "éa"),
    ("A", b"\x00\x00\x00\x05Vb\x05t\x00", [None, Int8(5), False]),
    (
        "T",
        b"\x00\x00\x00\x00\x65\x53\xf1\x00",
        dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC),
    ),
    ("F", b"\x00\x00\x00\x07\x01nI\x00\x00\x00\x01", {"n": 1}),
    ("V", b"", None),
    ("x", b"\x00\x00\x00\x02\x00\xff", b"\x00\xff"),
]


@pytest.mark.parametrize(("code", "wire", "value"), TYPE_CODES, ids=[c for c, _, _ in TYPE_CODES])
def test_every_type_code_both_directions(code: str, wire: bytes, value: Any) -> None:
    raw = table_with(code.encode(), wire)
    decoded, end = decode_table(raw, 0)
    assert (decoded, end) == ({"k": value}, len(raw))
    assert type(decoded["k"]) is type(value)  # the class keeps the type code
    assert type_code(decoded["k"]) == code
    assert encode_table(decoded) == raw
    assert encode_value(value) == code.encode() + wire
    assert code in FIELD_TYPE_NAMES


def test_typed_values_read_as_the_numbers_they_are() -> None:
    assert str(Int8(-1)) == "-1" and f"{UInt16(7)}" == "7" and str(Float32(1.5)) == "1.5"
    assert repr(Int8(-1)) == "Int8(-1)"


def test_plain_values_pick_the_codes_rabbitmq_clients_use() -> None:
    table = {
        "int": 1,
        "big": 2**40,
        "bool": True,
        "str": "s",
        "bytes": b"b",
        "float": 0.5,
        "none": None,
        "dec": decimal.Decimal("2.50"),
        "when": dt.datetime(2024, 1, 1),  # naive: taken as UTC
        "list": [1],
        "table": {},
    }
    codes = {
        key: type_code(value) for key, value in decode_table(encode_table(table), 0)[0].items()
    }
    assert codes == {
        "int": "I",
        "big": "l",
        "bool": "t",
        "str": "S",
        "bytes": "x",
        "float": "d",
        "none": "V",
        "dec": "D",
        "when": "T",
        "list": "A",
        "table": "F",
    }
    decoded = decode_table(encode_table(table), 0)[0]
    assert decoded["dec"].as_tuple().exponent == -2  # the exponent survives
    assert decoded["when"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_non_utf8_strings_decode_to_bytes_and_round_trip() -> None:
    raw = table_with(b"S", b"\x00\x00\x00\x02\xff\xfe")
    decoded = decode_table(raw, 0)[0]
    assert decoded == {"k": StringBytes(b"\xff\xfe")} and type(decoded["k"]) is StringBytes
    assert encode_table(decoded) == raw
    key = b"\x01\xff" + b"I" + b"\x00\x00\x00\x01"  # a key that is not UTF-8 stays bytes
    raw_key = struct.pack(">I", len(key)) + key
    assert decode_table(raw_key, 0)[0] == {b"\xff": 1}
    assert encode_table(decode_table(raw_key, 0)[0]) == raw_key
    frame = encode_method(1, "Basic.Publish", exchange=b"\xff", routing_key="ok")
    from mqctl.wire import FrameDecoder

    decoder = FrameDecoder()
    decoder.feed(frame)
    (method,) = list(decoder)
    assert method.args["exchange"] == b"\xff"  # type: ignore[union-attr]
    assert to_json(method.args["exchange"]) == {"bytes": "/w=="}  # type: ignore[union-attr]


def test_timestamps_beyond_datetime_stay_ints() -> None:
    raw = table_with(b"T", b"\xff" * 8)
    decoded = decode_table(raw, 0)[0]
    assert decoded == {"k": 2**64 - 1} and type(decoded["k"]) is TimestampSeconds
    assert encode_table(decoded) == raw
    header = encode_header(1, 60, 0, {"timestamp": 2**63})
    from mqctl.wire import FrameDecoder

    decoder = FrameDecoder()
    decoder.feed(header)
    (frame,) = list(decoder)
    assert frame.properties == {"timestamp": 2**63}  # type: ignore[union-attr]


def test_unknown_type_code_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="unknown field-table type code 'Z'"):
        decode_table(table_with(b"Z", b""), 0)


def test_codec_errors_are_bad_input() -> None:
    assert issubclass(CodecError, BadInput)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: encode_method(1, "Basic.Publsh"), "unknown AMQP method 'Basic.Publsh'"),
        (lambda: encode_method(1, "Basic.Ack", tag=1), "Basic.Ack has no argument(s) tag"),
        (lambda: encode_method(1, "Basic.Ack", delivery_tag=-1), "cannot encode Basic.Ack"),
        (lambda: encode_method(1, "Basic.Publish", exchange="x" * 256), "at most 255 bytes"),
        (lambda: encode_method(70000, "Basic.Ack"), "bad channel 70000"),
        (lambda: encode_header(1, 60, 0, {"colour": "red"}), "unknown property colour"),
        (lambda: encode_value(int.__new__(Int8, 300)), "300 does not fit field type 'b'"),
        (lambda: encode_value(2**64), "value: 18446744073709551616 does not fit a 64-bit integer"),
        (lambda: encode_value(object()), "value: object cannot be sent as an AMQP field value"),
        (lambda: encode_value(decimal.Decimal("NaN")), "finite decimal"),
        (lambda: encode_table({"x": float("inf")}), "x: inf is not a finite number"),
        (lambda: encode_table({"x": [Float32(1e39)]}), "x[0]: 1e+39 does not fit a 32-bit float"),
    ],
)
def test_encoder_errors_say_what_is_wrong(build: Any, message: str) -> None:
    with pytest.raises(EncodeError) as caught:
        build()
    assert message in str(caught.value)


def test_method_tables_cover_the_spec_with_rabbitmq_extensions() -> None:
    assert len(METHODS) == 66
    for name in [
        "Confirm.Select",
        "Confirm.SelectOk",
        "Exchange.Bind",
        "Exchange.BindOk",
        "Exchange.Unbind",
        "Exchange.UnbindOk",
        "Basic.Nack",
        "Connection.Blocked",
        "Connection.Unblocked",
        "Connection.UpdateSecret",
        "Connection.UpdateSecretOk",
    ]:
        assert name in METHODS_BY_NAME
    assert METHODS_BY_ID[(40, 51)].name == "Exchange.UnbindOk"
    assert METHODS_BY_ID[(10, 11)].name == "Connection.StartOk"
    assert method_name(60, 40) == "Basic.Publish"
    assert method_spec("basic.qos").arguments[2].name == "global"
    assert [a.name for a in method_spec("Exchange.Declare").arguments][-2:] == [
        "nowait",
        "arguments",
    ]
    assert [(a.name, a.amqp_type) for a in method_spec("Basic.Deliver").arguments] == [
        ("consumer_tag", "shortstr"),
        ("delivery_tag", "longlong"),
        ("redelivered", "bit"),
        ("exchange", "shortstr"),
        ("routing_key", "shortstr"),
    ]
    assert CLASS_NAMES[85] == "Confirm"
    assert [p.name for p in PROPERTIES[60]][:3] == ["content_type", "content_encoding", "headers"]
    assert len(PROPERTIES[60]) == 14 and PROPERTIES[60][-1].flag == 0x0004
    assert REPLY_CODES[404] == "NOT_FOUND"

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
    TypedValue,
    encode_header,
    encode_method,
    method_name,
    method_spec,
)
from mqctl.wire.values import (
    FIELD_TYPE_NAMES,
    decode_table,
    decode_table_typed,
    encode_table,
    encode_value,
)


def table_with(code: bytes, value_bytes: bytes) -> bytes:
    entry = b"\x01k" + code + value_bytes
    return struct.pack(">I", len(entry)) + entry


# One case per type code, bytes written out by hand from RabbitMQ's errata table.
TYPE_CODES: list[tuple[str, bytes, Any]] = [
    ("t", b"\x01", True),
    ("b", b"\xff", -1),
    ("B", b"\xff", 255),
    ("s", b"\xff\xfe", -2),  # signed 16-bit, not a short string
    ("u", b"\xff\xfe", 65534),
    ("I", b"\xff\xff\xff\xfd", -3),
    ("i", b"\xff\xff\xff\xfd", 4294967293),
    ("l", b"\xff\xff\xff\xff\xff\xff\xff\xfc", -4),  # signed 64-bit
    ("f", b"\x3f\xc0\x00\x00", 1.5),
    ("d", b"\xbf\xf8\x00\x00\x00\x00\x00\x00", -1.5),
    ("D", b"\x02\xff\xff\xff\x85", decimal.Decimal("-1.23")),
    ("S", b"\x00\x00\x00\x03\xc3\xa9a", "éa"),
    ("A", b"\x00\x00\x00\x05Vb\x05t\x00", [None, 5, False]),
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
    assert decode_table(raw, 0) == ({"k": value}, len(raw))
    typed, _ = decode_table_typed(raw, 0)
    assert typed["k"].type_code == code
    assert encode_table(typed) == raw
    if code == "A":  # plain 5 would be encoded as "I": give the items their codes
        value = [TypedValue("V", None), TypedValue("b", 5), TypedValue("t", False)]
    assert encode_value(TypedValue(code, value)) == code.encode() + wire
    assert code in FIELD_TYPE_NAMES


def test_capital_l_is_read_as_signed_64_bit() -> None:
    raw = table_with(b"L", b"\xff" * 8)
    assert decode_table(raw, 0)[0] == {"k": -1}


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
        key: value.type_code for key, value in decode_table_typed(encode_table(table), 0)[0].items()
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
    assert decode_table(raw, 0)[0] == {"k": b"\xff\xfe"}
    assert encode_table(decode_table_typed(raw, 0)[0]) == raw
    frame = encode_method(1, "Basic.Publish", exchange=b"\xff", routing_key="ok")
    from mqctl.wire import FrameDecoder

    decoder = FrameDecoder()
    decoder.feed(frame)
    (method,) = list(decoder)
    assert method.args["exchange"] == b"\xff"  # type: ignore[union-attr]
    assert to_json(method.args["exchange"]) == {"bytes": "/w=="}  # type: ignore[union-attr]


def test_timestamps_beyond_datetime_stay_ints() -> None:
    raw = table_with(b"T", b"\xff" * 8)
    assert decode_table(raw, 0)[0] == {"k": 2**64 - 1}
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
        (lambda: encode_value(TypedValue("b", 300)), "does not fit field type 'b'"),
        (lambda: encode_value(TypedValue("I", "1")), "type 'I' needs an int"),
        (lambda: encode_value(object()), "no AMQP field type for a object value"),
        (lambda: encode_value(decimal.Decimal("NaN")), "finite decimal"),
        (lambda: encode_value(TypedValue("Q", 1)), "unknown field type code 'Q'"),
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

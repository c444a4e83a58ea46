"""Golden bytes for every AMQP 0-9-1 method, both directions, fed whole, byte by byte and in chunks.

The golden frames were produced once by pika's encoder (an independent implementation:
``pika.frame.Method(channel, pika.spec.<Class>.<Method>(*args)).marshal()``) and pasted here as
hex, so these tests do not compare mqctl with itself. The content header carries all 14 Basic
properties and a headers table with most field types (pika cannot encode floats, so the float
and the other type codes are covered by tests/test_codec_values.py).
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
from typing import Any

import pytest

from mqctl.wire import (
    METHODS_BY_NAME,
    NEED_DATA,
    PROTOCOL_HEADER,
    BodyFrame,
    CutFrame,
    DecodeProblem,
    Event,
    FrameDecoder,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
    encode_body,
    encode_header,
    encode_heartbeat,
    encode_method,
)

# (method name, arguments, the whole frame as hex); Connection methods on channel 0, others on 3
GOLDEN_METHODS: list[tuple[str, dict[str, Any], str]] = [
    (
        "Connection.Start",
        {
            "version_major": 7,
            "version_minor": 7,
            "server_properties": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
            "mechanisms": "long mechanisms 3 é",
            "locales": "long locales 4 é",
        },
        "0100000000007a000a000a07070000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56000000146c6f6e67206d656368616e69736d73203320c3a9000000116c6f6e67206c6f63616c6573203420c3a9ce",
    ),
    (
        "Connection.StartOk",
        {
            "client_properties": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
            "mechanism": "mechanism-1",
            "response": "long response 2 é",
            "locale": "locale-3",
        },
        "01000000000076000a000b0000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f560b6d656368616e69736d2d31000000126c6f6e6720726573706f6e7365203220c3a9086c6f63616c652d33ce",
    ),
    (
        "Connection.Secure",
        {"challenge": "long challenge 0 é"},
        "0100000000001b000a0014000000136c6f6e67206368616c6c656e6765203020c3a9ce",
    ),
    (
        "Connection.SecureOk",
        {"response": "long response 0 é"},
        "0100000000001a000a0015000000126c6f6e6720726573706f6e7365203020c3a9ce",
    ),
    (
        "Connection.Tune",
        {"channel_max": 4660, "frame_max": 305419897, "heartbeat": 4662},
        "0100000000000c000a001e1234123456791236ce",
    ),
    (
        "Connection.TuneOk",
        {"channel_max": 4660, "frame_max": 305419897, "heartbeat": 4662},
        "0100000000000c000a001f1234123456791236ce",
    ),
    (
        "Connection.Open",
        {"virtual_host": "virtual_host-0", "capabilities": "capabilities-1", "insist": True},
        "01000000000023000a00280e7669727475616c5f686f73742d300e6361706162696c69746965732d3101ce",
    ),
    (
        "Connection.OpenOk",
        {"known_hosts": "known_hosts-0"},
        "01000000000012000a00290d6b6e6f776e5f686f7374732d30ce",
    ),
    (
        "Connection.Close",
        {"reply_code": 4660, "reply_text": "reply_text-1", "class_id": 4662, "method_id": 4663},
        "01000000000017000a003212340c7265706c795f746578742d3112361237ce",
    ),
    ("Connection.CloseOk", {}, "01000000000004000a0033ce"),
    ("Connection.Blocked", {"reason": "reason-0"}, "0100000000000d000a003c08726561736f6e2d30ce"),
    ("Connection.Unblocked", {}, "01000000000004000a003dce"),
    (
        "Connection.UpdateSecret",
        {"new_secret": "long new_secret 0 é", "reason": "reason-1"},
        "01000000000025000a0046000000146c6f6e67206e65775f736563726574203020c3a908726561736f6e2d31ce",
    ),
    ("Connection.UpdateSecretOk", {}, "01000000000004000a0047ce"),
    (
        "Channel.Open",
        {"out_of_band": "out_of_band-0"},
        "010003000000120014000a0d6f75745f6f665f62616e642d30ce",
    ),
    (
        "Channel.OpenOk",
        {"channel_id": "long channel_id 0 é"},
        "0100030000001c0014000b000000146c6f6e67206368616e6e656c5f6964203020c3a9ce",
    ),
    ("Channel.Flow", {"active": True}, "010003000000050014001401ce"),
    ("Channel.FlowOk", {"active": True}, "010003000000050014001501ce"),
    (
        "Channel.Close",
        {"reply_code": 4660, "reply_text": "reply_text-1", "class_id": 4662, "method_id": 4663},
        "010003000000170014002812340c7265706c795f746578742d3112361237ce",
    ),
    ("Channel.CloseOk", {}, "0100030000000400140029ce"),
    (
        "Access.Request",
        {
            "realm": "realm-0",
            "exclusive": False,
            "passive": True,
            "active": False,
            "write": True,
            "read": False,
        },
        "0100030000000d001e000a077265616c6d2d300ace",
    ),
    ("Access.RequestOk", {"ticket": 4660}, "01000300000006001e000b1234ce"),
    (
        "Exchange.Declare",
        {
            "ticket": 4660,
            "exchange": "exchange-1",
            "type": "type-2",
            "passive": False,
            "durable": True,
            "auto_delete": False,
            "internal": True,
            "nowait": False,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "010003000000600028000a12340a65786368616e67652d3106747970652d320a0000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    ("Exchange.DeclareOk", {}, "010003000000040028000bce"),
    (
        "Exchange.Delete",
        {"ticket": 4660, "exchange": "exchange-1", "if_unused": True, "nowait": False},
        "010003000000120028001412340a65786368616e67652d3101ce",
    ),
    ("Exchange.DeleteOk", {}, "0100030000000400280015ce"),
    (
        "Exchange.Bind",
        {
            "ticket": 4660,
            "destination": "destination-1",
            "source": "source-2",
            "routing_key": "routing_key-3",
            "nowait": True,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "010003000000730028001e12340d64657374696e6174696f6e2d3108736f757263652d320d726f7574696e675f6b65792d33010000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    ("Exchange.BindOk", {}, "010003000000040028001fce"),
    (
        "Exchange.Unbind",
        {
            "ticket": 4660,
            "destination": "destination-1",
            "source": "source-2",
            "routing_key": "routing_key-3",
            "nowait": True,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "010003000000730028002812340d64657374696e6174696f6e2d3108736f757263652d320d726f7574696e675f6b65792d33010000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    ("Exchange.UnbindOk", {}, "0100030000000400280033ce"),
    (
        "Queue.Declare",
        {
            "ticket": 4660,
            "queue": "queue-1",
            "passive": True,
            "durable": False,
            "exclusive": True,
            "auto_delete": False,
            "nowait": True,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "010003000000560032000a12340771756575652d31150000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    (
        "Queue.DeclareOk",
        {"queue": "queue-0", "message_count": 305419897, "consumer_count": 305419898},
        "010003000000140032000b0771756575652d30123456791234567ace",
    ),
    (
        "Queue.Bind",
        {
            "ticket": 4660,
            "queue": "queue-1",
            "exchange": "exchange-2",
            "routing_key": "routing_key-3",
            "nowait": True,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "0100030000006f0032001412340771756575652d310a65786368616e67652d320d726f7574696e675f6b65792d33010000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    ("Queue.BindOk", {}, "0100030000000400320015ce"),
    (
        "Queue.Purge",
        {"ticket": 4660, "queue": "queue-1", "nowait": True},
        "0100030000000f0032001e12340771756575652d3101ce",
    ),
    ("Queue.PurgeOk", {"message_count": 305419896}, "010003000000080032001f12345678ce"),
    (
        "Queue.Delete",
        {"ticket": 4660, "queue": "queue-1", "if_unused": True, "if_empty": False, "nowait": True},
        "0100030000000f0032002812340771756575652d3105ce",
    ),
    ("Queue.DeleteOk", {"message_count": 305419896}, "010003000000080032002912345678ce"),
    (
        "Queue.Unbind",
        {
            "ticket": 4660,
            "queue": "queue-1",
            "exchange": "exchange-2",
            "routing_key": "routing_key-3",
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "0100030000006e0032003212340771756575652d310a65786368616e67652d320d726f7574696e675f6b65792d330000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    ("Queue.UnbindOk", {}, "0100030000000400320033ce"),
    (
        "Basic.Qos",
        {"prefetch_size": 305419896, "prefetch_count": 4661, "global": True},
        "0100030000000b003c000a12345678123501ce",
    ),
    ("Basic.QosOk", {}, "01000300000004003c000bce"),
    (
        "Basic.Consume",
        {
            "ticket": 4660,
            "queue": "queue-1",
            "consumer_tag": "consumer_tag-2",
            "no_local": False,
            "no_ack": True,
            "exclusive": False,
            "nowait": True,
            "arguments": {
                "x-int": 42,
                "x-str": "v",
                "x-bool": True,
                "x-nested": {"k": [1, "two", None]},
            },
        },
        "01000300000065003c001412340771756575652d310e636f6e73756d65725f7461672d320a0000004305782d696e74490000002a05782d73747253000000017606782d626f6f6c740108782d6e65737465644600000015016b410000000e4900000001530000000374776f56ce",
    ),
    (
        "Basic.ConsumeOk",
        {"consumer_tag": "consumer_tag-0"},
        "01000300000013003c00150e636f6e73756d65725f7461672d30ce",
    ),
    (
        "Basic.Cancel",
        {"consumer_tag": "consumer_tag-0", "nowait": False},
        "01000300000014003c001e0e636f6e73756d65725f7461672d3000ce",
    ),
    (
        "Basic.CancelOk",
        {"consumer_tag": "consumer_tag-0"},
        "01000300000013003c001f0e636f6e73756d65725f7461672d30ce",
    ),
    (
        "Basic.Publish",
        {
            "ticket": 4660,
            "exchange": "exchange-1",
            "routing_key": "routing_key-2",
            "mandatory": False,
            "immediate": True,
        },
        "01000300000020003c002812340a65786368616e67652d310d726f7574696e675f6b65792d3202ce",
    ),
    (
        "Basic.Return",
        {
            "reply_code": 4660,
            "reply_text": "reply_text-1",
            "exchange": "exchange-2",
            "routing_key": "routing_key-3",
        },
        "0100030000002c003c003212340c7265706c795f746578742d310a65786368616e67652d320d726f7574696e675f6b65792d33ce",
    ),
    (
        "Basic.Deliver",
        {
            "consumer_tag": "consumer_tag-0",
            "delivery_tag": 1099511627777,
            "redelivered": True,
            "exchange": "exchange-3",
            "routing_key": "routing_key-4",
        },
        "01000300000035003c003c0e636f6e73756d65725f7461672d300000010000000001010a65786368616e67652d330d726f7574696e675f6b65792d34ce",
    ),
    (
        "Basic.Get",
        {"ticket": 4660, "queue": "queue-1", "no_ack": True},
        "0100030000000f003c004612340771756575652d3101ce",
    ),
    (
        "Basic.GetOk",
        {
            "delivery_tag": 1099511627776,
            "redelivered": False,
            "exchange": "exchange-2",
            "routing_key": "routing_key-3",
            "message_count": 305419900,
        },
        "0100030000002a003c00470000010000000000000a65786368616e67652d320d726f7574696e675f6b65792d331234567cce",
    ),
    (
        "Basic.GetEmpty",
        {"cluster_id": "cluster_id-0"},
        "01000300000011003c00480c636c75737465725f69642d30ce",
    ),
    (
        "Basic.Ack",
        {"delivery_tag": 1099511627776, "multiple": False},
        "0100030000000d003c0050000001000000000000ce",
    ),
    (
        "Basic.Reject",
        {"delivery_tag": 1099511627776, "requeue": False},
        "0100030000000d003c005a000001000000000000ce",
    ),
    ("Basic.RecoverAsync", {"requeue": True}, "01000300000005003c006401ce"),
    ("Basic.Recover", {"requeue": True}, "01000300000005003c006e01ce"),
    ("Basic.RecoverOk", {}, "01000300000004003c006fce"),
    (
        "Basic.Nack",
        {"delivery_tag": 1099511627776, "multiple": False, "requeue": True},
        "0100030000000d003c0078000001000000000002ce",
    ),
    ("Tx.Select", {}, "01000300000004005a000ace"),
    ("Tx.SelectOk", {}, "01000300000004005a000bce"),
    ("Tx.Commit", {}, "01000300000004005a0014ce"),
    ("Tx.CommitOk", {}, "01000300000004005a0015ce"),
    ("Tx.Rollback", {}, "01000300000004005a001ece"),
    ("Tx.RollbackOk", {}, "01000300000004005a001fce"),
    ("Confirm.Select", {"nowait": True}, "010003000000050055000a01ce"),
    ("Confirm.SelectOk", {}, "010003000000040055000bce"),
]

GOLDEN_HEADER = bytes.fromhex(
    "020005000000ec003c000000000000000004d2fffc106170706c69636174696f6e2f6a736f6e04677a697000"
    "00007505782d696e74490000002a05782d6269676c000001000000000005782d73747253000000017607782d"
    "6279746573780000000200ff05782d64656344020000013a04782d74735400000000663881d906782d6c6973"
    "74410000001a49000000015300000001617401564600000007016e49fffffffb020906636f72722d3115616d"
    "712e7261626269746d712e7265706c792d746f053630303030056d73672d31000000006553f1000d6f726465"
    "722e637265617465640567756573740473686f70026331ce"
)
GOLDEN_PROPERTIES: dict[str, Any] = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": {
        "x-int": 42,
        "x-big": 2**40,
        "x-str": "v",
        "x-bytes": b"\x00\xff",
        "x-dec": decimal.Decimal("3.14"),
        "x-ts": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        "x-list": [1, "a", True, None, {"n": -5}],
    },
    "delivery_mode": 2,
    "priority": 9,
    "correlation_id": "corr-1",
    "reply_to": "amq.rabbitmq.reply-to",
    "expiration": "60000",
    "message_id": "msg-1",
    "timestamp": dt.datetime.fromtimestamp(1700000000, dt.UTC),
    "type": "order.created",
    "user_id": "guest",
    "app_id": "shop",
    "cluster_id": "c1",
}


def channel_of(name: str) -> int:
    return 0 if name.startswith("Connection.") else 3


def decode_all(chunks: list[bytes]) -> list[Event]:
    decoder = FrameDecoder()
    events: list[Event] = []
    for chunk in chunks:
        decoder.feed(chunk)
        while (event := decoder.next_event()) is not NEED_DATA:
            events.append(event)
    assert decoder.finish() is None
    return events


def test_every_method_of_the_spec_has_a_golden_case() -> None:
    assert sorted(name for name, _, _ in GOLDEN_METHODS) == sorted(METHODS_BY_NAME)


@pytest.mark.parametrize(
    ("name", "args", "golden"), GOLDEN_METHODS, ids=[g[0] for g in GOLDEN_METHODS]
)
def test_method_encodes_to_golden_bytes(name: str, args: dict[str, Any], golden: str) -> None:
    assert encode_method(channel_of(name), name, args).hex() == golden


@pytest.mark.parametrize(
    ("name", "args", "golden"), GOLDEN_METHODS, ids=[g[0] for g in GOLDEN_METHODS]
)
def test_golden_bytes_decode_to_the_method(name: str, args: dict[str, Any], golden: str) -> None:
    raw = bytes.fromhex(golden)
    (frame,) = decode_all([raw])
    assert isinstance(frame, MethodFrame)
    spec = METHODS_BY_NAME[name]
    assert (frame.name, frame.channel, frame.class_id, frame.method_id) == (
        name,
        channel_of(name),
        spec.class_id,
        spec.method_id,
    )
    assert (frame.offset, frame.size) == (0, len(raw) - 8)
    assert frame.args == args
    assert frame.to_bytes() == raw
    # the decoded values re-encode to the very same bytes
    assert encode_method(frame.channel, name, frame.args) == raw


def test_content_header_golden_both_directions() -> None:
    assert encode_header(5, 60, 1234, GOLDEN_PROPERTIES) == GOLDEN_HEADER
    (frame,) = decode_all([GOLDEN_HEADER])
    assert isinstance(frame, HeaderFrame)
    assert (frame.channel, frame.class_id, frame.weight, frame.body_size) == (5, 60, 0, 1234)
    assert frame.property_flags == 0xFFFC  # all 14 properties
    assert frame.properties == GOLDEN_PROPERTIES
    assert encode_header(5, 60, 1234, frame.properties) == GOLDEN_HEADER


def golden_stream() -> bytes:
    parts = [PROTOCOL_HEADER]
    parts += [bytes.fromhex(golden) for _, _, golden in GOLDEN_METHODS]
    parts += [GOLDEN_HEADER, encode_body(5, b"x" * 1234), encode_heartbeat(), encode_body(5, b"")]
    return b"".join(parts)


def describe(events: list[Event]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, MethodFrame):
            out.append((event.offset, event.name, event.channel, event.args))
        elif isinstance(event, HeaderFrame):
            out.append((event.offset, "header", event.properties))
        elif isinstance(event, BodyFrame | HeartbeatFrame):
            out.append((event.offset, type(event).__name__, bytes(event.payload)))
        else:
            out.append((event,))
    return out


def test_golden_stream_whole() -> None:
    stream = golden_stream()
    events = decode_all([stream])
    assert isinstance(events[0], ProtocolHeader) and events[0].is_amqp091
    assert len(events) == 1 + len(GOLDEN_METHODS) + 4
    frames = [e for e in events if not isinstance(e, (DecodeProblem, CutFrame))]
    assert len(frames) == len(events)
    assert b"".join(e.to_bytes() for e in frames) == stream
    # iteration takes the same events as next_event()
    decoder = FrameDecoder()
    decoder.feed(stream)
    assert describe(list(decoder)) == describe(events)


def test_golden_stream_one_byte_at_a_time() -> None:
    stream = golden_stream()
    expected = describe(decode_all([stream]))
    assert describe(decode_all([stream[i : i + 1] for i in range(len(stream))])) == expected


@pytest.mark.parametrize("seed", range(8))
def test_golden_stream_random_chunks(seed: int) -> None:
    stream = golden_stream()
    rng = random.Random(seed)
    chunks = []
    pos = 0
    while pos < len(stream):
        size = rng.choice([1, 2, 3, 7, 8, 11, 64, 500, 4096])
        chunks.append(stream[pos : pos + size])
        pos += size
    assert describe(decode_all(chunks)) == describe(decode_all([stream]))


def test_golden_stream_iterated_while_feeding_bytearrays() -> None:
    stream = golden_stream()
    decoder = FrameDecoder()
    events: list[Event] = []
    chunk = bytearray()
    for i in range(0, len(stream), 13):
        chunk[:] = stream[i : i + 13]  # the same buffer reused: the decoder must copy it
        decoder.feed(chunk)
        events.extend(decoder)
    assert describe(events) == describe(decode_all([stream]))

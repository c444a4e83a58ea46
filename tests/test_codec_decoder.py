"""The stream decoder: protocol headers, framing checks, problems as values, resync and gaps."""

from __future__ import annotations

import struct

import pytest

from mqctl.wire import (
    DEFAULT_MAX_FRAME_SIZE,
    NEED_DATA,
    PROTOCOL_HEADER,
    BodyFrame,
    CutFrame,
    DecodeProblem,
    Event,
    FrameDecoder,
    FrameError,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
    encode_body,
    encode_header,
    encode_heartbeat,
    encode_message,
    encode_method,
)
from mqctl.wire.decoder import MALFORMED_FRAME
from mqctl.wire.frames import (
    BAD_ARGUMENTS,
    BAD_FRAME_END,
    BAD_PROPERTIES,
    FOREIGN_PROTOCOL,
    GAP,
    OVERSIZE_FRAME,
    RESYNC,
    TRUNCATED,
    UNKNOWN_FRAME_TYPE,
)

PUBLISH = encode_method(1, "Basic.Publish", exchange="orders", routing_key="eu")
HEADER = encode_header(1, 60, 5, {"content_type": "text/plain", "delivery_mode": 2})
BODY = encode_body(1, b"hello")
MESSAGE = PUBLISH + HEADER + BODY


def events_of(data: bytes, **options: object) -> list[Event]:
    decoder = FrameDecoder(**options)  # type: ignore[arg-type]
    decoder.feed(data)
    return list(decoder)


def kinds(events: list[Event]) -> list[str]:
    return [e.kind if isinstance(e, DecodeProblem) else type(e).__name__ for e in events]


def test_incomplete_input_is_need_data_never_an_exception() -> None:
    decoder = FrameDecoder()
    assert decoder.next_event() is NEED_DATA
    for byte in MESSAGE[:-1]:
        decoder.feed(bytes([byte]))
    assert [type(e) for e in decoder] == [MethodFrame, HeaderFrame]
    assert decoder.next_event() is NEED_DATA
    assert decoder.buffered == len(BODY) - 1
    decoder.feed(MESSAGE[-1:])
    body = decoder.next_event()
    assert isinstance(body, BodyFrame) and bytes(body.payload) == b"hello"
    assert decoder.finish() is None


def test_protocol_header_091_then_frames() -> None:
    events = events_of(PROTOCOL_HEADER + MESSAGE)
    header = events[0]
    assert isinstance(header, ProtocolHeader)
    assert header.is_amqp091 and header.description == "AMQP 0-9-1" and header.offset == 0
    assert kinds(events[1:]) == ["MethodFrame", "HeaderFrame", "BodyFrame"]
    assert events[1].offset == 8


@pytest.mark.parametrize(
    ("raw", "described"),
    [
        (b"AMQP\x00\x01\x00\x00", "AMQP 1.0 protocol header (41 4d 51 50 00 01 00 00)"),
        (b"AMQP\x03\x01\x00\x00", "AMQP 1.0 SASL negotiation protocol header"),
        (b"AMQP\x01\x01\x00\x0a", "AMQP 0-10 protocol header"),
        (b"AMQP\x09\x09\x09\x09", "unknown AMQP protocol header (41 4d 51 50 09 09 09 09)"),
    ],
)
def test_wrong_protocol_header_is_described_and_the_rest_counted(
    raw: bytes, described: str
) -> None:
    decoder = FrameDecoder()
    decoder.feed(raw + b"\x00\x00\x00\x21\x02\x00\x00\x00")
    (header,) = list(decoder)
    assert isinstance(header, ProtocolHeader) and not header.is_amqp091
    assert header.description.startswith(described)
    assert header.description.endswith("not AMQP 0-9-1")
    decoder.feed(b"more")
    assert list(decoder) == []
    problem = decoder.finish()
    assert problem is not None
    assert (problem.kind, problem.offset, problem.skipped_bytes) == (FOREIGN_PROTOCOL, 8, 12)


def test_server_side_starts_with_a_frame() -> None:
    start = encode_method(0, "Connection.Start", server_properties={"product": "RabbitMQ"})
    (frame,) = events_of(start)
    assert isinstance(frame, MethodFrame) and frame.name == "Connection.Start"
    assert frame.args["mechanisms"] == "PLAIN" and frame.args["locales"] == "en_US"


def test_bad_frame_end_reports_then_resyncs_to_the_next_frame() -> None:
    broken = PUBLISH[:-1] + b"\x00"
    events = events_of(broken + HEADER + BODY)
    assert kinds(events) == [BAD_FRAME_END, RESYNC, "HeaderFrame", "BodyFrame"]
    bad, resync = events[0], events[1]
    assert isinstance(bad, DecodeProblem) and isinstance(resync, DecodeProblem)
    assert bad.offset == 0 and "0x00, not 0xce" in bad.reason
    assert (resync.offset, resync.skipped_bytes) == (0, len(PUBLISH))
    assert events[2].offset == len(PUBLISH)


def test_unknown_frame_type_is_reported_and_skipped() -> None:
    weird = b"\x04\x00\x01\x00\x00\x00\x02ab\xce"
    events = events_of(weird + MESSAGE)
    assert kinds(events) == [UNKNOWN_FRAME_TYPE, RESYNC, "MethodFrame", "HeaderFrame", "BodyFrame"]
    assert "unknown frame type 4" in events[0].reason  # type: ignore[union-attr]
    assert events[1].skipped_bytes == len(weird)  # type: ignore[union-attr]


def test_oversize_frame_is_reported_without_waiting_for_it() -> None:
    decoder = FrameDecoder(max_frame_size=4096)
    decoder.feed(struct.pack(">BHI", 3, 1, 10_000_000) + b"x" * 20)
    problem = decoder.next_event()
    assert isinstance(problem, DecodeProblem) and problem.kind == OVERSIZE_FRAME
    assert "10000008 is above the maximum 4096" in problem.reason


def test_tune_sets_the_frame_size_limit() -> None:
    decoder = FrameDecoder()
    assert decoder.max_frame_size == DEFAULT_MAX_FRAME_SIZE
    decoder.feed(encode_method(0, "Connection.Tune", channel_max=10, frame_max=4096, heartbeat=5))
    (tune,) = list(decoder)
    assert isinstance(tune, MethodFrame) and tune.args["frame_max"] == 4096
    assert decoder.max_frame_size == 4096 and decoder.channel_max == 10
    decoder.feed(encode_body(1, b"x" * 4088) + encode_body(1, b"x" * 4089))
    assert kinds(list(decoder)) == ["BodyFrame", OVERSIZE_FRAME]
    # frame_max 0 means no limit
    decoder = FrameDecoder()
    decoder.feed(encode_method(0, "Connection.TuneOk", frame_max=0))
    list(decoder)
    assert decoder.max_frame_size > 2**32


def test_resync_mode_finds_the_first_plausible_frame() -> None:
    stream = PROTOCOL_HEADER + MESSAGE * 3
    for start in range(9, len(PUBLISH) + 9):
        events = events_of(stream[start:], resync=True, offset=start)
        first = events[0]
        assert isinstance(first, DecodeProblem) and first.kind == RESYNC
        assert first.offset == start
        frames = [e for e in events[1:] if not isinstance(e, DecodeProblem)]
        assert first.offset + first.skipped_bytes == frames[0].offset
        assert kinds(events[1:])[-3:] == ["MethodFrame", "HeaderFrame", "BodyFrame"]


def test_resync_mode_at_a_frame_boundary_skips_nothing() -> None:
    events = events_of(MESSAGE, resync=True)
    assert kinds(events) == [RESYNC, "MethodFrame", "HeaderFrame", "BodyFrame"]
    assert events[0].skipped_bytes == 0  # type: ignore[union-attr]


def test_a_gap_inside_a_frame_of_known_size_is_jumped_not_rescanned() -> None:
    big_body = encode_body(1, bytes(range(256)) * 20)
    decoder = FrameDecoder()
    decoder.feed(MESSAGE + big_body[:1000])
    assert kinds(list(decoder)) == ["MethodFrame", "HeaderFrame", "BodyFrame"]
    decoder.gap(lost=1460)
    decoder.feed(big_body[2460:] + MESSAGE)  # the body's tail, then the next frames
    events = list(decoder)
    assert kinds(events) == ["CutFrame", "MethodFrame", "HeaderFrame", "BodyFrame"]
    cut = events[0]
    assert isinstance(cut, CutFrame)
    assert (cut.offset, cut.frame_type, cut.channel, cut.size) == (len(MESSAGE), 3, 1, 5120)
    assert (bytes(cut.payload), cut.lost) == (big_body[7:1000], 1460)
    assert events[1].offset == len(MESSAGE) + len(big_body)  # in step: offsets stay true


def test_a_gap_past_the_cut_frame_reports_it_and_resyncs() -> None:
    publish = encode_method(1, "Basic.Publish", exchange="orders", routing_key="eu.new")
    decoder = FrameDecoder()
    decoder.feed(publish[:20])
    decoder.gap(lost=len(publish) - 20 + 7)  # the frame's end and 7 bytes of the next frame
    decoder.feed(MESSAGE[7:])  # the rest of a publish, its header and body
    events = list(decoder)
    assert kinds(events) == ["CutFrame", GAP, RESYNC, "HeaderFrame", "BodyFrame"]
    cut, gap = events[0], events[1]
    assert isinstance(cut, CutFrame) and isinstance(gap, DecodeProblem)
    assert (cut.name, cut.lost) == ("Basic.Publish", len(publish) - 20)
    assert cut.fields() == {"ticket": 0, "exchange": "orders"}  # 7 + 13 bytes: not routing_key
    assert (gap.offset, gap.skipped_bytes) == (len(publish), 7)


def test_a_gap_of_unknown_size_after_a_frame_start_resyncs() -> None:
    big_body = encode_body(1, bytes(range(256)) * 20)
    decoder = FrameDecoder()
    decoder.feed(MESSAGE + big_body[:1000])
    list(decoder)
    decoder.gap()
    decoder.feed(big_body[2460:] + MESSAGE)
    assert kinds(list(decoder)) == [
        "CutFrame",
        GAP,
        RESYNC,
        "MethodFrame",
        "HeaderFrame",
        "BodyFrame",
    ]


def test_a_gap_without_a_whole_frame_header_drops_and_resyncs() -> None:
    decoder = FrameDecoder()
    decoder.feed(MESSAGE + PUBLISH[:5])
    assert kinds(list(decoder)) == ["MethodFrame", "HeaderFrame", "BodyFrame"]
    decoder.gap(lost=100)
    decoder.feed(PUBLISH[105:] + MESSAGE)
    events = list(decoder)
    assert kinds(events)[:2] == [GAP, RESYNC] and kinds(events)[-3:] == kinds(events_of(MESSAGE))
    gap = events[0]
    assert isinstance(gap, DecodeProblem) and gap.skipped_bytes == 5 + 100


def test_finish_reports_a_truncated_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(MESSAGE[:-3])
    assert kinds(list(decoder)) == ["MethodFrame", "HeaderFrame"]
    problem = decoder.finish()
    assert problem is not None and problem.kind == TRUNCATED
    assert (problem.offset, problem.skipped_bytes) == (len(PUBLISH + HEADER), len(BODY) - 3)


def test_heartbeat_and_empty_body() -> None:
    events = events_of(encode_heartbeat() + encode_body(1, b""))
    assert isinstance(events[0], HeartbeatFrame) and events[0].channel == 0
    assert isinstance(events[1], BodyFrame) and bytes(events[1].payload) == b""


def test_body_payload_is_a_view_not_a_copy() -> None:
    data = MESSAGE
    body = events_of(data)[2]
    assert isinstance(body, BodyFrame)
    assert isinstance(body.payload, memoryview) and body.payload.obj is data


def _taken(data: bytes, how: str) -> list[Event]:
    if how == "iterated":
        return events_of(data)
    decoder = FrameDecoder()
    if how == "byte by byte":  # frames straddle feeds: the careful path joins them
        taken: list[Event] = []
        for byte in data:
            decoder.feed(bytes([byte]))
            taken.extend(decoder)
        return taken
    decoder.feed(data)
    taken = []
    while (event := decoder.next_event()) is not NEED_DATA:
        taken.append(event)
    return taken


@pytest.mark.parametrize("how", ["iterated", "next_event", "byte by byte"])
def test_method_and_header_payloads_are_bytes_of_their_own(how: str) -> None:
    # small and decoded from bytes: a copy of its own, so a kept frame does not pin the chunk
    method, header, body = _taken(MESSAGE, how)
    assert type(method) is MethodFrame and type(header) is HeaderFrame
    assert type(method.payload) is bytes and method.payload == PUBLISH[7:-1]
    assert type(header.payload) is bytes and header.payload == HEADER[7:-1]
    assert isinstance(body, BodyFrame) and isinstance(body.payload, memoryview)
    assert method.args["routing_key"] == "eu"
    assert header.properties == {"content_type": "text/plain", "delivery_mode": 2}


def test_too_short_method_and_header_frames_are_malformed() -> None:
    short_method = b"\x01\x00\x01\x00\x00\x00\x02\x00\x3c\xce"
    short_header = b"\x02\x00\x01\x00\x00\x00\x02\x00\x3c\xce"
    events = events_of(short_method + short_header + MESSAGE)
    assert kinds(events) == [
        MALFORMED_FRAME,
        MALFORMED_FRAME,
        "MethodFrame",
        "HeaderFrame",
        "BodyFrame",
    ]
    assert events[0].skipped_bytes == len(short_method)  # type: ignore[union-attr]


def test_undecodable_arguments_are_a_problem_value() -> None:
    truncated = (
        b"\x01\x00\x01\x00\x00\x00\x07\x00\x3c\x00\x28\x00\x00\x09\xce"  # Publish, short str
    )
    (frame,) = events_of(truncated)
    assert isinstance(frame, MethodFrame) and frame.name == "Basic.Publish"
    problem = frame.args_or_problem()
    assert isinstance(problem, DecodeProblem) and problem.kind == BAD_ARGUMENTS
    with pytest.raises(FrameError) as caught:
        _ = frame.args
    assert caught.value.problem == problem
    extra = encode_method(1, "Basic.Ack", delivery_tag=1)
    extra = extra[:6] + bytes([extra[6] + 1]) + extra[7:-1] + b"\x00\xce"
    (frame,) = events_of(extra)
    assert "1 byte(s) left over" in frame.args_or_problem().reason  # type: ignore[union-attr]


def test_unknown_method_has_a_name_and_a_problem() -> None:
    raw = b"\x01\x00\x01\x00\x00\x00\x04\x00\x3c\x03\xe7\xce"
    (frame,) = events_of(raw)
    assert isinstance(frame, MethodFrame) and frame.name == "Basic.Unknown(999)"
    assert frame.args_or_problem().kind == BAD_ARGUMENTS  # type: ignore[union-attr]
    raw = b"\x01\x00\x01\x00\x00\x00\x04\x00\x63\x00\x05\xce"
    assert events_of(raw)[0].name == "Unknown(99.5)"  # type: ignore[union-attr]


def test_property_flags_naming_no_property_are_a_problem() -> None:
    raw = bytearray(encode_header(1, 60, 0, {}))
    raw[7 + 12 : 7 + 14] = b"\x00\x02"  # bit 1: past the 14th property
    (frame,) = events_of(bytes(raw))
    assert isinstance(frame, HeaderFrame)
    assert frame.properties_or_problem().kind == BAD_PROPERTIES  # type: ignore[union-attr]
    raw[7 + 12 : 7 + 14] = b"\x00\x01"  # a continuation word follows ...
    raw[7 + 14 : 7 + 14] = b"\x00\x00"  # ... and is empty: legal, no properties
    raw[3:7] = struct.pack(">I", 16)
    (frame,) = events_of(bytes(raw))
    assert frame.properties == {}  # type: ignore[union-attr]


def test_frame_names_splits_and_names_only() -> None:
    tune = encode_method(0, "Connection.Tune", frame_max=131072)
    stream = (
        PROTOCOL_HEADER + tune + MESSAGE * 2 + encode_method(1, "Basic.Ack") + encode_heartbeat()
    )
    decoder = FrameDecoder()
    decoder.feed(stream)
    names: list[str] = []
    while True:
        names += decoder.frame_names()
        event = decoder.next_event()
        if event is NEED_DATA:
            break
        names.append(getattr(event, "name", type(event).__name__))
    assert names == [
        "ProtocolHeader",
        "Connection.Tune",
        *["Basic.Publish", "ContentHeader", "ContentBody"] * 2,
        "Basic.Ack",
        "HeartbeatFrame",
    ]


def test_encode_message_splits_the_body_to_frame_max() -> None:
    data = encode_message(
        1, "Basic.Publish", b"z" * 25, {"priority": 1}, frame_max=18, exchange="x"
    )
    events = events_of(data)
    assert kinds(events) == [
        "MethodFrame",
        "HeaderFrame",
        "BodyFrame",
        "BodyFrame",
        "BodyFrame",
    ]
    assert b"".join(bytes(e.payload) for e in events[2:]) == b"z" * 25  # type: ignore[union-attr]
    assert events[1].body_size == 25  # type: ignore[union-attr]


def test_feeding_while_iterating() -> None:
    decoder = FrameDecoder()
    decoder.feed(MESSAGE)
    seen = []
    for event in decoder:
        seen.append(type(event).__name__)
        if len(seen) == 1:
            decoder.feed(MESSAGE)
    assert seen == ["MethodFrame", "HeaderFrame", "BodyFrame"] * 2


def test_max_frame_size_must_hold_the_framing() -> None:
    with pytest.raises(ValueError):
        FrameDecoder(max_frame_size=7)

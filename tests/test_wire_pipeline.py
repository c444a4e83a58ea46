"""The pipeline on synthetic captures: every link type, IPv6, reordering, retransmission, loss,
mid-stream start, snap-length cuts, detection on other ports, the live-source entry points, the
jsonl contract, filters and the summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqctl.jsonvalues import to_json
from mqctl.output import WireWriter
from mqctl.wire import packets as pk
from mqctl.wire.choices import BodyMode
from mqctl.wire.encoder import (
    PROTOCOL_HEADER,
    encode_heartbeat,
    encode_message,
    encode_method,
)
from mqctl.wire.filters import RecordFilter, record_type
from mqctl.wire.frames import DecodeProblem
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter, ip_tcp_packet, link_frame
from mqctl.wire.pipeline import Record, WirePipeline, read_capture
from mqctl.wire.render_human import pretty_json
from mqctl.wire.render_jsonl import PREVIEW_CHARS, jsonl_line, jsonl_lines, preview, record_dict
from mqctl.wire.render_records import write_jsonl
from mqctl.wire.render_summary import summary_json
from mqctl.wire.summary import SummaryBuilder
from tests.wire_helpers import CLIENT, CLIENT6, SERVER, SERVER6

TS = 1700000000.0

CLIENT_BYTES = [
    PROTOCOL_HEADER,
    encode_method(0, "Connection.StartOk", mechanism="PLAIN", response="\0guest\0secret-pw"),
    encode_method(1, "Channel.Open"),
    encode_method(1, "Confirm.Select"),
    encode_message(
        1,
        "Basic.Publish",
        b'{"n": 1}',
        {"content_type": "application/json", "headers": {"k": "v"}, "delivery_mode": 2},
        exchange="orders",
        routing_key="order.created",
        mandatory=True,
    ),
    encode_message(1, "Basic.Publish", b"two", exchange="orders", routing_key="x"),
    encode_message(1, "Basic.Publish", b"three", exchange="orders", routing_key="x"),
    encode_heartbeat(),
    encode_method(1, "Basic.Ack", delivery_tag=1),
]
SERVER_BYTES = [
    encode_method(
        0, "Connection.Start", version_major=0, version_minor=9, mechanisms="PLAIN", locales="en_US"
    ),
    encode_method(1, "Channel.OpenOk"),
    encode_method(1, "Confirm.SelectOk"),
    encode_method(1, "Basic.Ack", delivery_tag=2, multiple=True),
    encode_method(1, "Basic.Nack", delivery_tag=3),
    encode_message(
        1,
        "Basic.Deliver",
        b"hello",
        consumer_tag="c1",
        delivery_tag=1,
        exchange="",
        routing_key="q",
    ),
    encode_message(
        1,
        "Basic.Deliver",
        b"again",
        consumer_tag="c1",
        delivery_tag=2,
        exchange="",
        routing_key="q",
    ),
    encode_method(
        2,
        "Channel.Close",
        reply_code=404,
        reply_text="NOT_FOUND - no queue 'q'",
        class_id=50,
        method_id=10,
    ),
]
CLIENT_STREAM = b"".join(CLIENT_BYTES)
SERVER_STREAM = b"".join(SERVER_BYTES)


def conversation(
    linktype: int = pk.LINKTYPE_ETHERNET,
    ipv6: bool = False,
    chunk: int = 40,
    server_port: int = 5672,
    steps: list[tuple[bool, bytes]] | None = None,
) -> bytes:
    """A whole connection (handshake, interleaved data in `chunk`-byte segments, FIN) as pcap."""
    out = io.BytesIO()
    writer = PcapWriter(out, linktype)
    client = CLIENT6 if ipv6 else CLIENT
    server = (SERVER6 if ipv6 else SERVER)[0], server_port
    flow = TcpFlowWriter(writer, client, server)
    flow.open(TS)
    c, s = CLIENT_STREAM, SERVER_STREAM
    if steps is not None:  # an explicit order instead of interleaved chunks
        for i, (from_client, data) in enumerate(steps):
            flow.data(TS + i * 0.01, from_client, data)
        c = s = b""
    step = 0
    while c or s:
        if c:
            flow.data(TS + step * 0.001, True, c[:chunk])
            c = c[chunk:]
        if s:
            flow.data(TS + step * 0.001 + 0.0005, False, s[:chunk])
            s = s[chunk:]
        step += 1
    flow.close(TS + 1)
    return out.getvalue()


def records_of(data: bytes, tmp_path: Path, **kwargs: object) -> list[Record]:
    path = tmp_path / "c.pcap"
    path.write_bytes(data)
    return list(read_capture(str(path), **kwargs))  # type: ignore[arg-type]


def frames_bytes(records: list[Record], from_client: bool) -> bytes:
    """The wire bytes of every frame decoded in one direction, re-encoded."""
    return b"".join(
        r.event.to_bytes()  # type: ignore[union-attr]
        for r in records
        if r.from_client == from_client and record_type(r) not in ("gap", "error")
    )


@pytest.mark.parametrize(
    "linktype",
    [
        pk.LINKTYPE_ETHERNET,
        pk.LINKTYPE_LINUX_SLL,
        pk.LINKTYPE_LINUX_SLL2,
        pk.LINKTYPE_NULL,
        pk.LINKTYPE_LOOP,
        pk.LINKTYPE_RAW,
    ],
)
@pytest.mark.parametrize("ipv6", [False, True])
def test_every_link_type_and_ip_version(tmp_path: Path, linktype: int, ipv6: bool) -> None:
    records = records_of(conversation(linktype, ipv6), tmp_path)
    assert frames_bytes(records, True) == CLIENT_STREAM
    assert frames_bytes(records, False) == SERVER_STREAM
    first = record_dict(records[0])
    if ipv6:
        assert first["src"] == "[::1]:40002" and first["dst"] == "[fd00::2]:5672"
    else:
        assert first["src"] == "10.0.0.1:40001" and first["dst"] == "10.0.0.2:5672"


def segments_capture(segments: list[tuple[bool, int, bytes]], snaplen: int = 262144) -> bytes:
    """Raw client->server / server->client segments (from_client, offset in stream, bytes)."""
    out = io.BytesIO()
    writer = PcapWriter(out, pk.LINKTYPE_ETHERNET, snaplen=snaplen)
    isn = {True: 1000, False: 9000}
    for i, (from_client, offset, data) in enumerate(segments):
        src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        seq = isn[from_client] + 1 + offset
        packet = ip_tcp_packet(src[0], src[1], dst[0], dst[1], seq, 0, pk.TCP_ACK, data)
        writer.write(TS + i * 0.001, link_frame(pk.LINKTYPE_ETHERNET, packet))
    return out.getvalue()


def split(stream: bytes, size: int) -> list[tuple[int, bytes]]:
    return [(i, stream[i : i + size]) for i in range(0, len(stream), size)]


def test_reordered_and_retransmitted_segments(tmp_path: Path) -> None:
    pieces = split(CLIENT_STREAM, 30)
    order = [*pieces[:2], pieces[3], pieces[2], *pieces[2:3], *pieces[4:], *pieces[5:7]]
    records = records_of(segments_capture([(True, o, d) for o, d in order]), tmp_path)
    assert frames_bytes(records, True) == CLIENT_STREAM
    assert not [r for r in records if record_type(r) in ("gap", "error")]


def test_loss_gives_a_gap_then_resynchronises(tmp_path: Path) -> None:
    # Drop the bytes of the second Basic.Publish frame's header: the rest must decode.
    offsets = []
    pos = 0
    for chunk in CLIENT_BYTES:
        offsets.append(pos)
        pos += len(chunk)
    lost_from = offsets[5] + 2
    lost_to = offsets[5] + 20
    segs = [(True, 0, CLIENT_STREAM[:lost_from]), (True, lost_to, CLIENT_STREAM[lost_to:])]
    records = records_of(segments_capture(segs), tmp_path)
    kinds = [record_type(r) for r in records]
    gap = records[kinds.index("gap")]
    assert record_dict(gap)["size"] >= lost_to - lost_from
    assert "segment missing from the capture" in record_dict(gap)["reason"]
    methods = [r.event.name for r in records if record_type(r) == "method"]  # type: ignore[union-attr]
    # everything before the loss and the frames after the damaged message are there
    assert methods[:4] == ["Connection.StartOk", "Channel.Open", "Confirm.Select", "Basic.Publish"]
    assert methods[-2:] == ["Basic.Publish", "Basic.Ack"]
    assert kinds.count("heartbeat") == 1


def test_capture_starting_mid_connection(tmp_path: Path) -> None:
    start = len(b"".join(CLIENT_BYTES[:4])) + 5  # inside the first Basic.Publish frame
    segs = [(True, o, d) for o, d in split(CLIENT_STREAM[start:], 50)]
    records = records_of(segments_capture([(f, o + start, d) for f, o, d in segs]), tmp_path)
    first = record_dict(records[0])
    assert first["type"] == "gap" and first["reason"] == "capture starts mid-connection"
    skipped = record_dict(records[1])
    assert skipped["type"] == "error" and skipped["kind"] == "resync" and skipped["size"] > 0
    assert record_type(records[2]) in ("header", "method")
    methods = [r.event.name for r in records if record_type(r) == "method"]  # type: ignore[union-attr]
    assert methods == ["Basic.Publish", "Basic.Publish", "Basic.Ack"]


def test_snaplen_cut_keeps_every_complete_frame(tmp_path: Path) -> None:
    # One segment per frame, snap length cutting the 200-byte body frame.
    body = b"B" * 200
    message = encode_message(1, "Basic.Publish", body, exchange="", routing_key="k")
    frames = [PROTOCOL_HEADER, message, encode_method(1, "Basic.Ack", delivery_tag=1)]
    segs, pos = [], 0
    for chunk in frames:
        segs.append((True, pos, chunk))
        pos += len(chunk)
    records = records_of(segments_capture(segs, snaplen=54 + 150), tmp_path)
    kinds = [record_type(r) for r in records]
    assert kinds == ["protocol-header", "method", "header", "body", "method"]
    cut = record_dict(records[3])  # the body, cut: its size and what was captured of it
    assert (cut["cut"], cut["size"], cut["preview"]) == (True, 200, "B" * 64)
    assert cut["captured"] < 200 and "snap length" in cut["reason"]
    # its size said where the next frame starts: the Ack after it, with no gap or rescan
    assert records[-1].event.name == "Basic.Ack"  # type: ignore[union-attr]


def test_other_port_detected_by_protocol_header(tmp_path: Path) -> None:
    records = records_of(conversation(server_port=15999), tmp_path)
    assert frames_bytes(records, True) == CLIENT_STREAM
    assert records[0].conn.server.endswith(":15999")
    assert records_of(conversation(server_port=15999), tmp_path, detect=False) == []


def test_port_option_takes_a_connection_seen_mid_stream(tmp_path: Path) -> None:
    # No handshake, no protocol header: only --port makes it AMQP.
    segs = [(False, o, d) for o, d in split(SERVER_STREAM, 64)]
    data = segments_capture(segs)
    assert records_of(data, tmp_path, ports=(1234,)) == []
    got = records_of(data, tmp_path, ports=(5672,))
    assert frames_bytes(got, False) == SERVER_STREAM
    assert got[0].from_client is False and got[0].conn.server == "10.0.0.2:5672"


def test_live_stream_source_matches_the_capture(tmp_path: Path) -> None:
    """A proxy pushes each direction's bytes: same records as the capture of the same traffic."""
    pipeline = WirePipeline()
    live: list[Record] = []
    client, server = "10.0.0.1:40001", "10.0.0.2:5672"
    for i in range(0, max(len(CLIENT_STREAM), len(SERVER_STREAM)), 17):
        live += pipeline.stream_data(TS, client, server, CLIENT_STREAM[i : i + 17], True)
        live += pipeline.stream_data(TS, client, server, SERVER_STREAM[i : i + 17], False)
    live += pipeline.stream_closed(TS, client, server)
    captured = records_of(conversation(), tmp_path)

    def shape(records: list[Record]) -> list[tuple[bool, str, str]]:
        return sorted((r.from_client, r.src, jsonl_line(r).split('"channel"')[1]) for r in records)

    assert shape(live) == shape(captured)


def test_jsonl_record_contract(tmp_path: Path) -> None:
    records = records_of(conversation(), tmp_path)
    lines = [json.loads(jsonl_line(r, BodyMode.full)) for r in records]
    for line in lines:
        assert {"ts", "src", "dst", "channel", "type", "size"} <= line.keys()
        assert isinstance(line["ts"], float) and isinstance(line["channel"], int)
    assert lines[0] == {
        "ts": TS,
        "conn": 1,
        "src": "10.0.0.1:40001",
        "dst": "10.0.0.2:5672",
        "channel": 0,
        "type": "protocol-header",
        "size": 8,
        "protocol": "AMQP 0-9-1",
    }
    lines = [x for x in lines if x["src"] == "10.0.0.1:40001"]
    publish = next(x for x in lines if x.get("method") == "Basic.Publish")
    assert publish["class_id"] == 60 and publish["method_id"] == 40 and publish["channel"] == 1
    assert publish["args"] == {
        "ticket": 0,
        "exchange": "orders",
        "routing_key": "order.created",
        "mandatory": True,
        "immediate": False,
    }
    content = lines[lines.index(publish) + 1]
    assert content["type"] == "header" and content["class_id"] == 60
    assert content["body_size"] == 8
    assert content["properties"] == {
        "content_type": "application/json",
        "headers": {"k": "v"},
        "delivery_mode": 2,
    }
    body = lines[lines.index(publish) + 2]
    assert body["type"] == "body" and body["size"] == 8
    assert body["preview"] == '{"n": 1}' and body["body"] == {"bytes": "eyJuIjogMX0="}
    assert any(x["type"] == "heartbeat" and x["size"] == 0 for x in lines)
    start_ok = next(x for x in lines if x.get("method") == "Connection.StartOk")
    assert start_ok["args"]["response"] == "\0guest\0****"  # the password never shows
    assert "secret-pw" not in "".join(jsonl_line(r, BodyMode.full) for r in records)


def test_filters(tmp_path: Path) -> None:
    records = records_of(conversation(), tmp_path)

    def names(selection: RecordFilter) -> list[str]:
        out = []
        for r in selection.apply(records):
            d = record_dict(r)
            out.append(d.get("method", d["type"]))
        return out

    publishes = names(RecordFilter.build(methods=["basic.pub*"]))
    assert publishes == ["Basic.Publish", "header", "body"] * 3
    assert names(RecordFilter.build(types=["heartbeat"])) == ["heartbeat"]
    assert names(RecordFilter.build(channels=[2])) == ["Channel.Close"]
    assert names(RecordFilter.build(methods=["Basic.*"], types=["method"], limit=2)) == [
        "Basic.Publish",
        "Basic.Ack",  # the broker's confirm, between the client's publishes
    ]
    assert names(RecordFilter.build(conns=[2])) == []
    with pytest.raises(Exception, match="unknown --type"):
        RecordFilter.build(types=["frames"])


def test_summary_pairs_confirms_and_acks(tmp_path: Path) -> None:
    steps = [
        (True, b"".join(CLIENT_BYTES[:-1])),  # publishes
        (False, SERVER_STREAM),  # confirms, deliveries, a channel error
        (True, CLIENT_BYTES[-1]),  # the consumer acks the first delivery
    ]
    summary = SummaryBuilder().add_all(records_of(conversation(steps=steps), tmp_path))
    total = json.loads(summary_json(summary))["total"]
    assert total["messages"] == {"published": 3, "delivered": 2, "fetched": 0}
    confirms = total["confirms"]
    assert (confirms["acked"], confirms["nacked"], confirms["never_confirmed"]) == (2, 1, 0)
    assert confirms["latency_ms"]["max"] >= 0
    assert total["consumer_acks"]["acked"] == 1 and total["consumer_acks"]["unacked"] == 1
    assert total["frames"]["Basic.Publish"] == 3 and total["frames"]["Heartbeat"] == 1
    [error] = total["errors"]
    assert error["reply_code"] == 404 and error["failing_method"] == "Queue.Declare"
    assert error["by"] == "server" and error["channel"] == 2


@pytest.mark.parametrize("body", list(BodyMode))
def test_fast_jsonl_lines_equal_the_record_mapping(tmp_path: Path, body: BodyMode) -> None:
    """`jsonl_lines` builds most lines directly; they must say exactly what `record_dict` says."""
    data_dir = Path(__file__).resolve().parent / "data"
    records = [r for name in sorted(data_dir.glob("*.pcap*")) for r in read_capture(str(name))]
    start = len(b"".join(CLIENT_BYTES[:4])) + 5  # mid-stream: gap and resync records too
    segs = [(True, o + start, d) for o, d in split(CLIENT_STREAM[start:], 50)]
    records += records_of(segments_capture(segs), tmp_path)
    assert {record_type(r) for r in records} >= {"method", "header", "body", "gap", "error"}
    for record, line in zip(records, jsonl_lines(records, body), strict=True):
        assert json.loads(line) == json.loads(json.dumps(to_json(record_dict(record, body))))


def frame_bytes(frame_type: int, channel: int, payload: bytes) -> bytes:
    return (
        bytes([frame_type])
        + channel.to_bytes(2, "big")
        + len(payload).to_bytes(4, "big")
        + (payload + b"\xce")
    )


def test_fast_jsonl_lines_report_undecodable_arguments_and_properties(tmp_path: Path) -> None:
    """A method whose arguments and a header whose properties do not decode (here: cut short
    inside a well-framed frame) get `null` and the reason, in the fast lines as in the mapping."""
    publish_cut = frame_bytes(1, 1, (60).to_bytes(2, "big") + (40).to_bytes(2, "big") + b"\x00")
    # content_type flagged (bit 15), its length says 9 bytes, only 2 follow
    header_cut = frame_bytes(2, 1, bytes.fromhex("003c 0000 0000000000000003 8000") + b"\x09ab")
    body = frame_bytes(3, 1, b"abc")
    steps = [(True, PROTOCOL_HEADER), (True, publish_cut + header_cut + body)]
    records = records_of(conversation(steps=steps), tmp_path)
    lines = [json.loads(line) for line in jsonl_lines(records)]
    by_type = {line["type"]: line for line in lines}
    assert by_type["method"]["method"] == "Basic.Publish" and by_type["method"]["args"] is None
    assert by_type["header"]["properties"] is None
    assert by_type["method"]["error"] and by_type["header"]["error"]
    for record, line in zip(records, lines, strict=True):
        assert line == json.loads(json.dumps(to_json(record_dict(record))))


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", None])
def test_jsonl_written_as_bytes_reads_like_the_text_lines(
    tmp_path: Path, encoding: str | None
) -> None:
    """`write_jsonl` hands encoded lines to a UTF-8 stream's binary buffer, after what was
    written there as text; a stream of another encoding, or without a buffer, gets text."""
    data_dir = Path(__file__).resolve().parent / "data"
    records = [r for name in sorted(data_dir.glob("*.pcap*")) for r in read_capture(str(name))]
    expected = "before\n" + "".join(line + "\n" for line in jsonl_lines(records))
    stream: io.TextIOBase
    if encoding is None:
        stream = io.StringIO()
    else:
        stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")
    writer = WireWriter(stream)
    writer.raw("before\n")
    write_jsonl(records, BodyMode.preview, writer)
    writer.flush()
    if isinstance(stream, io.StringIO):
        assert stream.getvalue() == expected
    else:
        assert isinstance(stream, io.TextIOWrapper)
        raw = stream.buffer.getvalue()
        assert raw == expected.encode(stream.encoding, errors="replace")


def test_tls_connection_is_reported_once(tmp_path: Path) -> None:
    client_hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(200)
    server_hello = b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03" + bytes(300)
    out = io.BytesIO()
    flow = TcpFlowWriter(PcapWriter(out), CLIENT, (SERVER[0], 5671))
    flow.data(TS, True, client_hello)
    flow.data(TS, False, server_hello)
    flow.data(TS, True, b"\x17\x03\x03" + bytes(500))  # application data
    flow.close(TS)
    records = records_of(out.getvalue(), tmp_path)
    assert [(r.from_client, record_dict(r)["kind"]) for r in records] == [
        (True, "encrypted"),
        (False, "encrypted"),
    ]
    assert "wire proxy" in record_dict(records[0])["reason"]


def test_port_reuse_starts_a_new_connection(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = PcapWriter(out)
    for isn in (1000, 900_000):  # the same ports twice, the first never seen closing
        flow = TcpFlowWriter(writer, CLIENT, SERVER, client_isn=isn)
        flow.data(TS, True, PROTOCOL_HEADER + encode_method(1, "Channel.Open"))
    records = records_of(out.getvalue(), tmp_path)
    assert [(r.conn.id, record_type(r)) for r in records] == [
        (1, "protocol-header"),
        (1, "method"),
        (2, "protocol-header"),
        (2, "method"),
    ]


def test_live_stream_closed_mid_frame_and_several_connections() -> None:
    pipeline = WirePipeline()
    a, b, server = "10.0.0.1:1111", "[::1]:2222", "10.0.0.9:5672"
    got = pipeline.stream_data(TS, a, server, PROTOCOL_HEADER, True)
    got += pipeline.stream_data(TS, b, server, PROTOCOL_HEADER + CLIENT_BYTES[2][:5], True)
    got += pipeline.stream_data(TS, a, server, CLIENT_BYTES[2], True)
    got += pipeline.stream_closed(TS + 1, b, server)  # inside Channel.Open
    got += pipeline.finish(TS + 2)
    shapes = [(r.conn.id, r.src, record_dict(r)["type"]) for r in got]
    assert shapes == [
        (1, a, "protocol-header"),
        (2, b, "protocol-header"),
        (1, a, "method"),
        (2, b, "error"),
    ]
    assert record_dict(got[3])["kind"] == "truncated" and record_dict(got[3])["size"] == 5
    again = pipeline.stream_data(TS + 3, b, server, PROTOCOL_HEADER, True)
    assert again[0].conn.id == 3  # a new connection on the same endpoints


def test_loss_is_reported_as_soon_as_the_peer_acknowledges_it() -> None:
    """A client segment missing from the capture, the next one held for it: the broker's ACK past
    the hole shows it will never come, so the gap (and the held frame) come out right then."""
    a, b, c = (encode_method(1, "Basic.Qos", prefetch_count=n) for n in (1, 2, 3))
    client, server = (bytes([10, 0, 0, 1]), 40001), (bytes([10, 0, 0, 2]), 5672)

    def seg(from_client: bool, seq: int, ack: int, flags: int, data: bytes = b"") -> pk.Segment:
        src, dst = (client, server) if from_client else (server, client)
        return pk.Segment(src[0], src[1], dst[0], dst[1], seq, ack, flags, data, 0)

    pipeline = WirePipeline()
    start = 1000 + len(PROTOCOL_HEADER)
    steps = [
        seg(True, 999, 0, pk.TCP_SYN),
        seg(False, 4999, 1000, pk.TCP_SYN | pk.TCP_ACK),
        seg(True, 1000, 5000, pk.TCP_ACK, PROTOCOL_HEADER + a),
        seg(True, start + len(a) + len(b), 5000, pk.TCP_ACK, c),  # b is not in the capture
    ]
    seen = [r for s in steps for r in pipeline.segment(TS, s)]
    assert [record_type(r) for r in seen] == ["protocol-header", "method"]
    acked = pipeline.segment(TS, seg(False, 5000, start + len(a) + len(b) + len(c), pk.TCP_ACK))
    assert [record_type(r) for r in acked] == ["gap", "method"]
    gap = acked[0].event
    assert isinstance(gap, DecodeProblem) and gap.skipped_bytes == len(b)
    assert acked[1].event.name == "Basic.Qos"  # type: ignore[union-attr]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=120).map(str.encode))
def test_body_preview_is_the_first_characters_of_the_escaped_decode(body: bytes) -> None:
    # the ASCII shortcut must give what decoding the whole start gives, for any bytes
    expected = body.decode("utf-8", "backslashreplace")[:PREVIEW_CHARS]
    assert preview(body) == expected
    assert preview(memoryview(body)) == expected


def _stdlib_pretty(raw: bytes) -> str:
    return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)


def _escaped_surrogates(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


# text with lone surrogates too (as "\\ud800" escapes in a body decode): st.text alone has none
_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits too: orjson refuses those
    | st.floats()  # NaN and Infinity too: the stdlib's way, as orjson writes them otherwise
    | _TEXT
)
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(_JSON_VALUES)
def test_pretty_json_writes_what_the_stdlib_writes(value: object) -> None:
    # orjson's path and the stdlib's give the very text json.dumps(indent=2) gives, but for a
    # lone surrogate, which no output can encode: it shows as its escape
    raw = json.dumps(value).encode()
    shown = pretty_json(raw)
    assert shown is not None
    assert shown == _escaped_surrogates(_stdlib_pretty(raw))
    assert shown.encode("utf-8")


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1E5", "1e-05", "1e-7", "1e16", "-0.0", "-0", "NaN", "-Infinity"]
)
def test_pretty_json_writes_numbers_as_the_stdlib_does(number: str) -> None:
    raw = f'{{"n": {number}, "m": [1.5, 2]}}'.encode()
    assert pretty_json(raw) == _stdlib_pretty(raw)


def test_pretty_json_declines_what_it_cannot_show_as_a_tree() -> None:
    assert pretty_json(b"[" * 2000 + b"]" * 2000) is None  # past Python's recursion limit
    assert pretty_json(b"[1e400, " + b"[" * 3000) is None  # ... after a float
    assert pretty_json(b"{not json") is None
    assert pretty_json(b'{"n": 1e400, oops') is None
    assert pretty_json(b"\xff\xfe") is None
    deep = b"[" * 300 + b"]" * 300  # past orjson's 255 levels: the stdlib writes it
    assert pretty_json(deep) == _stdlib_pretty(deep)
    raw = b'["\xed\xa0\x80"]'  # a surrogate's own bytes (json.loads reads them too)
    assert pretty_json(raw) == _escaped_surrogates(_stdlib_pretty(raw)) == '[\n  "\\ud800"\n]'
    for encoding in ("utf-8-sig", "utf-16", "utf-32-be"):  # as json.loads reads bytes
        raw = '{"a": ["\u00e9", 1]}'.encode(encoding)
        assert pretty_json(raw) == _stdlib_pretty(raw)

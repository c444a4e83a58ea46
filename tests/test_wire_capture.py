"""Capture readers, the link/IP/TCP walk and TCP reassembly, on synthetic captures."""

from __future__ import annotations

import gzip
import io
import itertools
import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqctl.errors import BadInput
from mqctl.wire import packets as pk
from mqctl.wire.capture import CaptureError, Packet
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter, ip_tcp_packet, link_frame
from mqctl.wire.readers import read_packets
from mqctl.wire.reassembly import GAP_LOST, GAP_MIDSTREAM, GAP_SNAPLEN, Gap, StreamSide
from tests.wire_helpers import CLIENT, SERVER, pcap_bytes, pcapng_bytes

TS = 1700000000.25


def write(tmp_path: Path, data: bytes, name: str = "c.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def to_big_endian_ns(le: bytes) -> bytes:
    """Rewrite a little-endian microsecond pcap as big-endian with nanosecond timestamps."""
    _magic, major, minor, zone, sig, snap, link = struct.unpack_from("<IHHiIII", le)
    out = [struct.pack(">IHHiIII", 0xA1B23C4D, major, minor, zone, sig, snap, link)]
    pos = 24
    while pos < len(le):
        sec, usec, caplen, wire = struct.unpack_from("<IIII", le, pos)
        out.append(struct.pack(">IIII", sec, usec * 1000, caplen, wire))
        out.append(le[pos + 16 : pos + 16 + caplen])
        pos += 16 + caplen
    return b"".join(out)


SEGMENTS = [(True, 100, b"AMQP\x00\x00\x09\x01"), (False, 900, b"hello"), (True, 108, b"world")]


class TestReaders:
    def test_pcap_little_endian_microseconds(self, tmp_path: Path) -> None:
        got = list(read_packets(write(tmp_path, pcap_bytes(SEGMENTS, ts=TS))))
        assert [p.linktype for p in got] == [1, 1, 1]
        assert got[0].ts == pytest.approx(TS, abs=1e-6)
        assert got[2].ts == pytest.approx(TS + 0.002, abs=1e-6)
        assert got[0].data.endswith(b"AMQP\x00\x00\x09\x01")
        assert got[0].wire_len == len(got[0].data)

    def test_pcap_big_endian_nanoseconds(self, tmp_path: Path) -> None:
        le = pcap_bytes(SEGMENTS, ts=TS)
        got = list(read_packets(write(tmp_path, to_big_endian_ns(le))))
        assert [p.data for p in got] == [p.data for p in read_packets(write(tmp_path, le, "l"))]
        assert got[1].ts == pytest.approx(TS + 0.001, abs=1e-9)

    @pytest.mark.parametrize("big_endian", [False, True])
    def test_pcapng_interfaces_and_resolutions(self, tmp_path: Path, big_endian: bool) -> None:
        packet = ip_tcp_packet(CLIENT[0], CLIENT[1], SERVER[0], SERVER[1], 1, 0, pk.TCP_ACK, b"x")
        frames = [
            (0, TS, link_frame(pk.LINKTYPE_ETHERNET, packet)),
            (1, TS + 1.5, link_frame(pk.LINKTYPE_LINUX_SLL, packet)),
            (0, TS + 2.25, link_frame(pk.LINKTYPE_ETHERNET, packet)),
        ]
        data = pcapng_bytes(frames, [(1, None), (113, 9)], big_endian=big_endian)
        got = list(read_packets(write(tmp_path, data, "c.pcapng")))
        assert [p.linktype for p in got] == [1, 113, 1]
        assert [p.ts for p in got] == pytest.approx([TS, TS + 1.5, TS + 2.25], abs=1e-6)
        assert all(pk.parse_packet(p.linktype, p.data, p.wire_len) for p in got)

    def test_gzip(self, tmp_path: Path) -> None:
        plain = pcap_bytes(SEGMENTS)
        got = list(read_packets(write(tmp_path, gzip.compress(plain), "c.pcap.gz")))
        assert len(got) == 3

    def test_large_capture_streams_across_chunks(self, tmp_path: Path) -> None:
        payload = bytes(range(256)) * 200
        segs = [(True, 1 + i * len(payload), payload) for i in range(60)]
        got = list(read_packets(write(tmp_path, pcap_bytes(segs))))
        assert len(got) == 60
        assert all(p.data.endswith(payload) for p in got)

    def test_empty_file(self, tmp_path: Path) -> None:
        with pytest.raises(CaptureError, match="the capture is empty"):
            list(read_packets(write(tmp_path, b"")))

    def test_not_a_capture(self, tmp_path: Path) -> None:
        with pytest.raises(CaptureError, match="not a pcap or pcapng capture"):
            list(read_packets(write(tmp_path, b"hello, this is text\n")))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(BadInput, match="cannot open capture"):
            list(read_packets(str(tmp_path / "nope.pcap")))

    @pytest.mark.parametrize("cut", [10, 7])
    def test_cut_off_keeps_what_came_before(self, tmp_path: Path, cut: int) -> None:
        data = pcap_bytes(SEGMENTS)[:-cut]
        got: list[Packet] = []
        with pytest.raises(CaptureError, match="cut off") as info:
            got.extend(read_packets(write(tmp_path, data)))
        assert info.value.truncated
        assert len(got) == 2

    def test_pcapng_cut_off(self, tmp_path: Path) -> None:
        packet = ip_tcp_packet(CLIENT[0], CLIENT[1], SERVER[0], SERVER[1], 1, 0, pk.TCP_ACK, b"x")
        data = pcapng_bytes([(0, TS, link_frame(1, packet))] * 2, [(1, None)])[:-9]
        got: list[Packet] = []
        with pytest.raises(CaptureError, match="cut off"):
            got.extend(read_packets(write(tmp_path, data)))
        assert len(got) == 1

    def test_unknown_link_type(self) -> None:
        with pytest.raises(pk.UnknownLinkType, match="unsupported link type 147"):
            pk.parse_packet(147, b"\0" * 60, 60)


class TestPackets:
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
    def test_every_link_type(self, linktype: int, ipv6: bool) -> None:
        src = bytes(15) + b"\x01" if ipv6 else bytes([127, 0, 0, 1])
        dst = bytes(15) + b"\x02" if ipv6 else bytes([127, 0, 0, 2])
        packet = ip_tcp_packet(src, 1234, dst, 5672, 0xFFFFFFF0, 77, pk.TCP_ACK, b"payload")
        frame = link_frame(linktype, packet)
        seg = pk.parse_packet(linktype, frame, len(frame))
        assert seg == pk.Segment(src, 1234, dst, 5672, 0xFFFFFFF0, 77, pk.TCP_ACK, b"payload", 0)

    def test_vlan_tags_and_ethernet_padding(self) -> None:
        packet = ip_tcp_packet(CLIENT[0], 1, SERVER[0], 2, 5, 0, pk.TCP_ACK, b"ab")
        eth = link_frame(pk.LINKTYPE_ETHERNET, packet)
        tagged = eth[:12] + b"\x88\xa8\x00\x05\x81\x00\x00\x07" + eth[12:] + b"\0" * 6
        seg = pk.parse_packet(1, tagged, len(tagged))
        assert isinstance(seg, pk.Segment) and seg.payload == b"ab"

    def test_ipv6_extension_header(self) -> None:
        packet = ip_tcp_packet(bytes(16), 1, bytes(16), 2, 5, 0, pk.TCP_ACK, b"ab")
        hop = bytes([6, 0]) + bytes(6)  # hop-by-hop options, next header TCP
        plen = struct.unpack_from("!H", packet, 4)[0] + 8
        ext = packet[:4] + struct.pack("!HBB", plen, 0, 64) + packet[8:40] + hop + packet[40:]
        seg = pk.parse_packet(pk.LINKTYPE_RAW, ext, len(ext))
        assert isinstance(seg, pk.Segment) and seg.payload == b"ab" and seg.dport == 2

    def test_not_tcp_is_ignored(self) -> None:
        packet = bytearray(ip_tcp_packet(CLIENT[0], 1, SERVER[0], 2, 5, 0, 0, b"ab"))
        packet[9] = 17  # UDP
        assert pk.parse_packet(pk.LINKTYPE_RAW, bytes(packet), len(packet)) is None
        arp = b"\xff" * 12 + b"\x08\x06" + bytes(28)
        assert pk.parse_packet(1, arp, len(arp)) is None

    def test_snaplen_cut_is_reported(self) -> None:
        packet = ip_tcp_packet(CLIENT[0], 1, SERVER[0], 2, 5, 0, pk.TCP_ACK, b"x" * 100)
        frame = link_frame(1, packet)
        seg = pk.parse_packet(1, frame[:-30], len(frame))
        assert isinstance(seg, pk.Segment) and seg.payload == b"x" * 70 and seg.missing == 30

    def test_endpoints(self) -> None:
        assert pk.format_endpoint(bytes([10, 0, 0, 1]), 5672) == "10.0.0.1:5672"
        v6 = pk.format_endpoint(bytes(15) + b"\x01", 5672)
        assert v6 == "[::1]:5672"
        assert pk.parse_endpoint(v6) == (bytes(15) + b"\x01", 5672)


def joined(items: list[bytes | Gap]) -> list[bytes | Gap]:
    """Adjacent byte runs merged, so that assertions do not depend on segment boundaries."""
    out: list[bytes | Gap] = []
    for item in items:
        if isinstance(item, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += item
        else:
            out.append(item)
    return out


def feed(
    side: StreamSide, segs: list[tuple[int, bytes]], syn_seq: int | None = None
) -> list[bytes | Gap]:
    out: list[bytes | Gap] = []
    if syn_seq is not None:
        side.add(syn_seq, True, b"", 0, out)
    for seq, data in segs:
        side.add(seq, False, data, 0, out)
    side.flush(out)
    return joined(out)


class TestReassembly:
    def test_in_order_after_syn(self) -> None:
        assert feed(StreamSide(), [(11, b"abc"), (14, b"def")], syn_seq=10) == [b"abcdef"]

    def test_mid_stream_start(self) -> None:
        assert feed(StreamSide(), [(500, b"abc"), (503, b"d")]) == [
            Gap(None, GAP_MIDSTREAM),
            b"abcd",
        ]

    def test_retransmission_and_overlap(self) -> None:
        side = StreamSide()
        segs = [(11, b"abc"), (11, b"abc"), (12, b"bcde"), (14, b"de"), (16, b"f")]
        assert feed(side, segs, syn_seq=10) == [b"abcdef"]
        assert side.dropped_bytes == 3 + 2 + 2

    def test_reordering(self) -> None:
        segs = [(14, b"def"), (17, b"g"), (11, b"abc")]
        assert feed(StreamSide(), segs, syn_seq=10) == [b"abcdefg"]

    def test_loss_becomes_a_gap(self) -> None:
        segs = [(11, b"abc"), (20, b"xyz")]
        assert feed(StreamSide(), segs, syn_seq=10) == [b"abc", Gap(6, GAP_LOST), b"xyz"]

    def test_loss_declared_when_too_much_waits(self) -> None:
        side = StreamSide()
        out: list[bytes | Gap] = []
        side.add(10, True, b"", 0, out)
        for i in range(200):
            side.add(100 + i, False, b"z", 0, out)
        assert out[0] == Gap(89, GAP_LOST)
        assert len(side.pending) == 0 and joined(out[1:]) == [b"z" * 200]

    def test_snaplen_gap(self) -> None:
        side = StreamSide()
        out: list[bytes | Gap] = []
        side.add(10, True, b"", 0, out)
        side.add(11, False, b"abc", 5, out)
        side.add(19, False, b"next", 0, out)
        assert out == [b"abc", Gap(5, GAP_SNAPLEN), b"next"]

    def test_sequence_wraps(self) -> None:
        segs = [(0xFFFFFFFE, b"ab"), (0, b"cd"), (0xFFFFFFFF, b"bc")]
        assert feed(StreamSide(), segs, syn_seq=0xFFFFFFFD) == [b"abcd"]

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def test_any_shuffle_with_duplicates_gives_the_stream(self, data: st.DataObject) -> None:
        stream = bytes(random.Random(1).randrange(256) for _ in range(400))
        isn = data.draw(st.integers(0, 0xFFFFFFFF))
        cuts = sorted(data.draw(st.sets(st.integers(1, 399), max_size=30)))
        bounds = [0, *cuts, 400]
        segs = [((isn + 1 + a) & 0xFFFFFFFF, stream[a:b]) for a, b in itertools.pairwise(bounds)]
        segs += data.draw(st.lists(st.sampled_from(segs), max_size=5))  # retransmissions
        order = data.draw(st.permutations(segs))
        assert feed(StreamSide(), list(order), syn_seq=isn) == [stream]


class TestFlowWriter:
    def test_round_trip_through_pcap(self) -> None:
        out = io.BytesIO()
        writer = PcapWriter(out, pk.LINKTYPE_ETHERNET)
        flow = TcpFlowWriter(writer, CLIENT, SERVER, client_isn=0xFFFFFFF0)
        big = b"q" * 150_000
        flow.data(TS, True, b"AMQP\x00\x00\x09\x01")
        flow.data(TS, False, big)
        flow.close(TS)
        segs = []
        for packet in read_packets_bytes(out.getvalue()):
            seg = pk.parse_packet(packet.linktype, packet.data, packet.wire_len)
            assert isinstance(seg, pk.Segment)
            segs.append(seg)
        client_side, server_side = StreamSide(), StreamSide()
        got: dict[bool, list[bytes | Gap]] = {True: [], False: []}
        for seg in segs:
            from_client = seg.sport == CLIENT[1]
            side = client_side if from_client else server_side
            side.add(
                seg.seq, bool(seg.flags & pk.TCP_SYN), seg.payload, seg.missing, got[from_client]
            )
        assert joined(got[True]) == [b"AMQP\x00\x00\x09\x01"]
        assert joined(got[False]) == [big]


def read_packets_bytes(data: bytes) -> list[Packet]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pcap") as handle:
        handle.write(data)
        handle.flush()
        return list(read_packets(handle.name))


def test_pcapng_simple_packet_blocks(tmp_path: Path) -> None:
    packet = ip_tcp_packet(CLIENT[0], CLIENT[1], SERVER[0], SERVER[1], 1, 0, pk.TCP_ACK, b"spb")
    frame = link_frame(pk.LINKTYPE_ETHERNET, packet)
    data = pcapng_bytes([], [(1, None)])
    body = struct.pack("<I", len(frame)) + frame
    body += b"\0" * (-len(body) % 4)
    data += struct.pack("<II", 3, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    [got] = list(read_packets(write(tmp_path, data, "spb.pcapng")))
    assert got.linktype == 1 and got.data == frame and got.ts == 0.0
    seg = pk.parse_packet(got.linktype, got.data, got.wire_len)
    assert isinstance(seg, pk.Segment) and seg.payload == b"spb"


def test_tso_packet_with_zero_ip_length() -> None:
    packet = bytearray(ip_tcp_packet(CLIENT[0], 1, SERVER[0], 2, 5, 0, pk.TCP_ACK, b"x" * 3000))
    packet[2:4] = b"\0\0"  # captured before segmentation offload filled it in
    frame = link_frame(pk.LINKTYPE_ETHERNET, bytes(packet))
    seg = pk.parse_packet(1, frame, len(frame))
    assert isinstance(seg, pk.Segment) and seg.payload == b"x" * 3000

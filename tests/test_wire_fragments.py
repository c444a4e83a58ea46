"""IP fragments reassembled: a TCP segment carried in IPv4 or IPv6 fragments, in or out of order,
decodes as the same frames as the unfragmented segment; a fragment cut by the snap length leaves
the segment cut there, as for any packet."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from mqctl.wire.encoder import PROTOCOL_HEADER, encode_message, encode_method
from mqctl.wire.packets import LINKTYPE_RAW, TCP_ACK, TCP_SYN
from mqctl.wire.pcapwriter import PcapWriter, ip_tcp_packet
from mqctl.wire.pipeline import read_capture
from mqctl.wire.render_jsonl import jsonl_lines
from tests.test_wire_cut import mqctl_frames, tshark_frames

TS = 1700000000.0
V4 = (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
V6 = (bytes(15) + b"\x01", bytes(15) + b"\x02")
MESSAGE = encode_message(1, "Basic.Publish", b"x" * 3000, {"content_type": "text/plain"})


def fragments(packet: bytes, size: int, ident: int) -> list[bytes]:
    """The IP packet split into fragments carrying `size` bytes (a multiple of 8) each."""
    if packet[0] >> 4 == 4:
        header, payload = packet[:20], packet[20:]
        out = []
        for offset in range(0, len(payload), size):
            piece = payload[offset : offset + size]
            more = 0x2000 if offset + size < len(payload) else 0
            fixed = struct.pack("!HHH", 20 + len(piece), ident, more | offset // 8)
            out.append(header[:2] + fixed + header[8:] + piece)
        return out
    header, payload = packet[:40], packet[40:]
    out = []
    for offset in range(0, len(payload), size):
        piece = payload[offset : offset + size]
        more = 1 if offset + size < len(payload) else 0
        frag = struct.pack("!BBHI", 6, 0, offset | more, ident)  # next header: TCP
        fixed = struct.pack("!HB", len(frag) + len(piece), 44)  # next header: fragment
        out.append(header[:4] + fixed + header[7:] + frag + piece)
    return out


def capture(
    addresses: tuple[bytes, bytes],
    order: list[int],
    snaplen: int = 65535,
    header_apart: bool = False,
) -> bytes:
    """SYN, SYN-ACK, the protocol header and a 3,000-byte message in one TCP segment sent as IP
    fragments in `order`, then a Basic.Ack. `header_apart`: the protocol header in a segment of
    its own first (tshark 4.0 decodes nothing of a segment that starts with it)."""
    client, server = addresses
    stream = io.BytesIO()
    writer = PcapWriter(stream, LINKTYPE_RAW, snaplen=snaplen)
    writer.write(TS, ip_tcp_packet(client, 40001, server, 5672, 999, 0, TCP_SYN))
    writer.write(TS, ip_tcp_packet(server, 5672, client, 40001, 4999, 1000, TCP_SYN | TCP_ACK))
    seq, data = 1000, PROTOCOL_HEADER + MESSAGE
    if header_apart:
        header = ip_tcp_packet(client, 40001, server, 5672, seq, 5000, TCP_ACK, PROTOCOL_HEADER)
        writer.write(TS, header)
        seq, data = seq + len(PROTOCOL_HEADER), MESSAGE
    pieces = fragments(
        ip_tcp_packet(client, 40001, server, 5672, seq, 5000, TCP_ACK, data), 1024, 7
    )
    for index in order:
        writer.write(TS + 0.1, pieces[index])
    ack = encode_method(1, "Basic.Ack", delivery_tag=1)
    writer.write(TS + 0.2, ip_tcp_packet(client, 40001, server, 5672, seq + len(data), 5000,
                                         TCP_ACK, ack))  # fmt: skip
    return stream.getvalue()


def records(raw: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "fragmented.pcap"
    path.write_bytes(raw)
    return [json.loads(line) for line in jsonl_lines(read_capture(str(path)))]


@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 2]], ids=["in-order", "shuffled"])
def test_fragments_decode_as_the_whole_segment(
    addresses: tuple[bytes, bytes], order: list[int], tmp_path: Path
) -> None:
    got = records(capture(addresses, order), tmp_path)
    kinds = [record["type"] for record in got]
    assert kinds == ["protocol-header", "method", "header", "body", "method"]
    assert got[1]["method"] == "Basic.Publish" and got[-1]["method"] == "Basic.Ack"
    assert got[3]["size"] == 3000 and "cut" not in got[3]


@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
def test_a_fragment_cut_by_the_snap_length_cuts_the_segment(
    addresses: tuple[bytes, bytes], tmp_path: Path
) -> None:
    got = records(capture(addresses, [0, 1, 2, 3], snaplen=600), tmp_path)
    kinds = [record["type"] for record in got]
    assert kinds == ["protocol-header", "method", "header", "body", "method"]
    assert got[3]["cut"] is True  # the body, from the first cut fragment on
    assert got[-1]["method"] == "Basic.Ack"  # in step after it


@pytest.mark.parametrize("addresses", [V4, V6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 2]], ids=["in-order", "shuffled"])
def test_fragments_match_tshark(
    addresses: tuple[bytes, bytes], order: list[int], tmp_path: Path
) -> None:
    """tshark reassembles the same fragments into the same frames: type, channel, size, method."""
    path = tmp_path / "fragmented.pcap"
    path.write_bytes(capture(addresses, order, header_apart=True))
    expected = tshark_frames(path)
    assert len(expected) == 4  # Publish, its header and body (one segment of fragments), the Ack
    assert mqctl_frames([json.loads(line) for line in jsonl_lines(read_capture(str(path)))]) == (
        expected
    )

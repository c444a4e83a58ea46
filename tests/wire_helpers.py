"""Helpers for the wire tests: a tiny pcapng writer and synthetic TCP conversations."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence

from mqctl.wire.packets import LINKTYPE_ETHERNET, TCP_ACK
from mqctl.wire.pcapwriter import PcapWriter, ip_tcp_packet, link_frame

CLIENT = (bytes([10, 0, 0, 1]), 40001)
SERVER = (bytes([10, 0, 0, 2]), 5672)
CLIENT6 = (bytes(15) + b"\x01", 40002)
SERVER6 = (b"\xfd\x00" + bytes(13) + b"\x02", 5672)


def pcapng_bytes(
    packets: Sequence[tuple[int, float, bytes]],
    interfaces: Sequence[tuple[int, int | None]],
    *,
    big_endian: bool = False,
) -> bytes:
    """A pcapng file: one section, `interfaces` as (linktype, tsresol or None), packets as
    (interface id, ts, frame) in enhanced packet blocks."""
    o = ">" if big_endian else "<"

    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack(o + "II", kind, length) + body + struct.pack(o + "I", length)

    out = io.BytesIO()
    out.write(block(0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1)))
    scales = []
    for linktype, tsresol in interfaces:
        options = b""
        if tsresol is not None:
            options = struct.pack(o + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
            options += struct.pack(o + "HH", 0, 0)
        out.write(block(1, struct.pack(o + "HHI", linktype, 0, 0) + options))
        scales.append(10 ** (tsresol if tsresol is not None else 6))
    for iface, ts, frame in packets:
        ticks = round(ts * scales[iface])
        head = struct.pack(
            o + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)
        )
        out.write(block(6, head + frame))
    return out.getvalue()


def pcap_bytes(
    segments: Sequence[tuple[bool, int, bytes]],
    *,
    linktype: int = LINKTYPE_ETHERNET,
    ipv6: bool = False,
    snaplen: int = 262144,
    client: tuple[bytes, int] | None = None,
    server: tuple[bytes, int] | None = None,
    ts: float = 1700000000.0,
) -> bytes:
    """A pcap of raw segments (from_client, seq, payload) without a handshake."""
    client = client or (CLIENT6 if ipv6 else CLIENT)
    server = server or (SERVER6 if ipv6 else SERVER)
    out = io.BytesIO()
    writer = PcapWriter(out, linktype, snaplen=snaplen)
    for i, (from_client, seq, payload) in enumerate(segments):
        src, dst = (client, server) if from_client else (server, client)
        packet = ip_tcp_packet(src[0], src[1], dst[0], dst[1], seq, 0, TCP_ACK, payload)
        writer.write(ts + i * 0.001, link_frame(linktype, packet))
    return out.getvalue()

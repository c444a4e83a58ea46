"""Writing pcap files: synthesised link/IP/TCP headers around stream bytes.

`TcpFlowWriter` turns the two byte streams of a connection (what a proxy forwards) into packets with
a handshake, correct sequence and acknowledgement numbers and a closing FIN, so that `wire read` and
tshark read the file back as the original TCP conversation. Tests use the lower-level builders to
make captures with every link type, IPv6, reordering, loss and snap-length cuts.
"""

from __future__ import annotations

import struct
from typing import IO

from mqctl.wire.packets import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    TCP_ACK,
    TCP_FIN,
    TCP_SYN,
)

MAX_SEGMENT = 65000  # payload per synthesised segment: below IPv4's 65535-byte total length


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def ip_tcp_packet(
    src: bytes,
    sport: int,
    dst: bytes,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes = b"",
) -> bytes:
    """An IPv4 or IPv6 packet (by the address length) holding one TCP segment.

    The TCP checksum is left zero: readers (mqctl, tshark by default) do not check it, and loopback
    captures with checksum offload carry wrong ones anyway.
    """
    tcp = struct.pack(
        "!HHIIBBHHH",
        sport,
        dport,
        seq & 0xFFFFFFFF,
        ack & 0xFFFFFFFF,
        5 << 4,
        flags,
        65535,
        0,
        0,
    )
    if len(src) == 4:
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst
        )
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        return header + tcp + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(tcp) + len(payload), 6, 64, src, dst)
    return header + tcp + payload


def link_frame(linktype: int, ip_packet: bytes) -> bytes:
    """Wrap an IP packet in the link-layer header of `linktype`."""
    ipv6 = ip_packet[0] >> 4 == 6
    ethertype = 0x86DD if ipv6 else 0x0800
    if linktype == LINKTYPE_ETHERNET:
        return (
            b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
            + struct.pack("!H", ethertype)
            + ip_packet
        )
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH8sH", 0, 772, 6, b"\0" * 8, ethertype) + ip_packet
    if linktype == LINKTYPE_LINUX_SLL2:
        return struct.pack("!HHIHBB8s", ethertype, 0, 1, 772, 0, 6, b"\0" * 8) + ip_packet
    if linktype == LINKTYPE_NULL:
        return struct.pack("<I", 30 if ipv6 else 2) + ip_packet
    if linktype == LINKTYPE_LOOP:
        return struct.pack("!I", 24 if ipv6 else 2) + ip_packet
    if linktype == LINKTYPE_RAW:
        return ip_packet
    raise ValueError(f"cannot synthesise link type {linktype}")


class PcapWriter:
    """A classic pcap file (microsecond timestamps, little-endian) written packet by packet."""

    def __init__(self, stream: IO[bytes], linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144):
        self.stream = stream
        self.linktype = linktype
        self.snaplen = snaplen
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, frame: bytes) -> None:
        """One link-layer frame, cut to the snap length (its wire length is kept)."""
        sec = int(ts)
        usec = round((ts - sec) * 1e6)
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        kept = frame[: self.snaplen]
        self.stream.write(struct.pack("<IIII", sec, usec, len(kept), len(frame)) + kept)

    def write_ip(self, ts: float, ip_packet: bytes) -> None:
        self.write(ts, link_frame(self.linktype, ip_packet))


class TcpFlowWriter:
    """One TCP connection's two byte streams as packets: handshake, data with acks, FIN."""

    def __init__(
        self,
        writer: PcapWriter,
        client: tuple[bytes, int],
        server: tuple[bytes, int],
        client_isn: int = 1000,
        server_isn: int = 5000,
    ) -> None:
        self.writer = writer
        self.client = client
        self.server = server
        self.seq = {True: client_isn, False: server_isn}
        self.opened = False

    def _packet(self, ts: float, from_client: bool, flags: int, payload: bytes = b"") -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        ack = self.seq[not from_client] if flags & TCP_ACK else 0
        packet = ip_tcp_packet(
            src[0], src[1], dst[0], dst[1], self.seq[from_client], ack, flags, payload
        )
        self.writer.write_ip(ts, packet)
        self.seq[from_client] = (self.seq[from_client] + len(payload)) & 0xFFFFFFFF

    def open(self, ts: float) -> None:
        """The three-way handshake."""
        self._packet(ts, True, TCP_SYN)
        self.seq[True] += 1
        self._packet(ts, False, TCP_SYN | TCP_ACK)
        self.seq[False] += 1
        self._packet(ts, True, TCP_ACK)
        self.opened = True

    def data(self, ts: float, from_client: bool, data: bytes) -> None:
        """Bytes one side sent, as as many segments as they need."""
        if not self.opened:
            self.open(ts)
        view = memoryview(data)
        for start in range(0, len(data), MAX_SEGMENT):
            self._packet(ts, from_client, TCP_ACK | 0x08, bytes(view[start : start + MAX_SEGMENT]))

    def close(self, ts: float, from_client: bool = True) -> None:
        """FIN from one side, FIN back from the other."""
        if not self.opened:
            return
        self._packet(ts, from_client, TCP_FIN | TCP_ACK)
        self.seq[from_client] += 1
        self._packet(ts, not from_client, TCP_FIN | TCP_ACK)
        self.seq[not from_client] += 1
        self._packet(ts, from_client, TCP_ACK)

"""Link, IP and TCP headers walked with `struct`: a captured packet in, a TCP segment out.

Link types: Ethernet (802.1Q/802.1ad tags), Linux cooked SLL and SLL2, BSD NULL/LOOP, raw IP.
IPv4 and IPv6 (extension headers walked); fragments go to `mqctl.wire.fragments`. Anything else is not TCP and is
ignored: a capture carries plenty of traffic that is none of our business.
"""

from __future__ import annotations

import socket
import struct
from typing import Final, NamedTuple

from mqctl.errors import BadInput
from mqctl.wire.fragments import Fragment

# Module constants are Final: compiled, mypyc inlines a Final or keeps it in a C static, where any
# other global is a dictionary look-up at every use (per packet, here).
LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LOOP: Final = 108
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228
LINKTYPE_IPV6: Final = 229
LINKTYPE_LINUX_SLL2: Final = 276
# DLT_RAW's value differs by platform (12 on most BSDs, 14 on OpenBSD); pcap files carry either.
LINKTYPE_RAW_BSD: Final = (12, 14)

LINK_NAMES = {
    LINKTYPE_NULL: "BSD loopback",
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
    LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
}

TCP_FIN: Final = 0x01
TCP_SYN: Final = 0x02
TCP_RST: Final = 0x04
TCP_ACK: Final = 0x10

_ETH_IPV4: Final = 0x0800
_ETH_IPV6: Final = 0x86DD
_VLAN_TAGS: Final = (0x8100, 0x88A8, 0x9100)
_BSD_AF_INET6: Final = (24, 28, 30)
# hop-by-hop, routing, destination options, ...
_IPV6_EXTENSIONS: Final = (0, 43, 60, 135, 139, 140)
_IPV6_FRAGMENT: Final = 44

# version/IHL, total length, flags/fragment offset, protocol
_IPV4: Final = struct.Struct("!BxHxxHxB")
_IPV6: Final = struct.Struct("!4xHBx")  # payload length, next header
_TCP: Final = struct.Struct("!HHIIBB")  # ports, seq, ack, data offset, flags
_IPV6_FRAGMENT_HEADER: Final = struct.Struct("!HI")  # offset and flags, identification


class Segment(NamedTuple):
    """One TCP segment: addresses as raw bytes (4 or 16), the payload, and what the snap length cut.

    `missing` counts payload bytes the IP header promised but the capture did not keep.
    """

    src: bytes
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    missing: int


# builds a NamedTuple without its keyword-handling __new__: twice as fast
_new: Final = tuple.__new__


class UnknownLinkType(BadInput):
    """The capture's link type is one mqctl cannot walk."""


def check_linktype(linktype: int) -> None:
    if linktype not in LINK_NAMES and linktype not in LINKTYPE_RAW_BSD:
        raise UnknownLinkType(
            f"unsupported link type {linktype} in the capture",
            "capture on an Ethernet or loopback interface (tcpdump -i any gives Linux SLL)",
        )


def ip_offset(linktype: int, data: bytes) -> int:
    """Where the IP header starts in a link-layer frame; -1 when the frame carries no IP."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return -1
        ethertype = (data[12] << 8) | data[13]
        offset = 14
        while ethertype in _VLAN_TAGS and len(data) >= offset + 4:
            ethertype = (data[offset + 2] << 8) | data[offset + 3]
            offset += 4
        return offset if ethertype in (_ETH_IPV4, _ETH_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return -1
        proto = (data[14] << 8) | data[15]
        return 16 if proto in (_ETH_IPV4, _ETH_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return -1
        proto = (data[0] << 8) | data[1]
        return 20 if proto in (_ETH_IPV4, _ETH_IPV6) else -1
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < 4:
            return -1
        family_le = int.from_bytes(data[:4], "little")
        family_be = int.from_bytes(data[:4], "big")
        ok = {2, *_BSD_AF_INET6}
        return 4 if family_le in ok or family_be in ok else -1
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) or linktype in LINKTYPE_RAW_BSD:
        return 0
    check_linktype(linktype)
    return -1


def parse_packet(linktype: int, data: bytes, wire_len: int) -> Segment | Fragment | None:
    """The TCP segment in a captured frame, a `Fragment` of a fragmented TCP datagram (for
    `mqctl.wire.fragments.Reassembler`), or None when it holds neither (ARP, UDP, ...)."""
    if linktype == LINKTYPE_ETHERNET and len(data) >= 14 and data[12:14] == b"\x08\x00":
        offset = 14  # the common case, without the general walk
    else:
        offset = ip_offset(linktype, data)
        if offset < 0:
            return None
    cut = wire_len - len(data)  # bytes the snap length dropped from the end of the frame
    if len(data) < offset + 20:
        return None
    version = data[offset] >> 4
    if version == 4:
        vihl, total, frag, proto = _IPV4.unpack_from(data, offset)
        if proto != 6:
            return None
        src = data[offset + 12 : offset + 16]
        dst = data[offset + 16 : offset + 20]
        tcp = offset + (vihl & 0x0F) * 4
        # A zero total length is a TCP-segmentation-offload packet captured before the NIC cut it.
        end = offset + total if total else offset + max(wire_len - offset, 0)
        if frag & 0x3FFF:  # a fragment: MF set or a non-zero offset
            ident = (data[offset + 4] << 8) | data[offset + 5]
            return _fragment(4, src, dst, 6, ident, (frag & 0x1FFF) * 8, frag & 0x2000, data,
                             tcp, end, cut)  # fmt: skip
    elif version == 6:
        if len(data) < offset + 40:
            return None
        plen, nxt = _IPV6.unpack_from(data, offset)
        src = data[offset + 8 : offset + 24]
        dst = data[offset + 24 : offset + 40]
        tcp = offset + 40
        end = tcp + plen
        while nxt in _IPV6_EXTENSIONS and len(data) >= tcp + 8:
            nxt = data[tcp]
            tcp += (data[tcp + 1] + 1) * 8
        if nxt == _IPV6_FRAGMENT and len(data) >= tcp + 8 and data[tcp] == 6:
            field, ident = _IPV6_FRAGMENT_HEADER.unpack_from(data, tcp + 2)
            return _fragment(6, src, dst, 6, ident, field & 0xFFF8, field & 1, data, tcp + 8,
                             end, cut)  # fmt: skip
        if nxt != 6:
            return None
    else:
        return None
    if len(data) < tcp + 20:
        return None
    sport, dport, seq, ack, doff, flags = _TCP.unpack_from(data, tcp)
    start = tcp + (doff >> 4) * 4
    captured_end = min(end, len(data))
    missing = end - captured_end if cut > 0 else 0
    if start > captured_end:
        # The snap length cut into the TCP options: the payload is entirely missing.
        return Segment(src, sport, dst, dport, seq, ack, flags, b"", max(end - start, 0))
    return _new(
        Segment, (src, sport, dst, dport, seq, ack, flags, data[start:captured_end], missing)
    )


def _fragment(
    version: int,
    src: bytes,
    dst: bytes,
    protocol: int,
    ident: int,
    offset: int,
    more: int,
    data: bytes,
    start: int,
    end: int,
    cut: int,
) -> Fragment:
    captured_end = min(end, len(data))
    missing = end - captured_end if cut > 0 else 0
    piece = data[start:captured_end] if start < captured_end else b""
    return Fragment(version, src, dst, protocol, ident, offset, bool(more), piece, missing)


def format_endpoint(addr: bytes, port: int) -> str:
    """`ip:port`, with IPv6 addresses in brackets (`[::1]:5672`)."""
    if len(addr) == 4:
        return f"{addr[0]}.{addr[1]}.{addr[2]}.{addr[3]}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, addr)}]:{port}"


def parse_endpoint(text: str) -> tuple[bytes, int]:
    """The inverse of `format_endpoint` (for live sources that know their peers by name)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.inet_pton(family, host), int(port)

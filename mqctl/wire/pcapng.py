"""The pcapng reader: section headers (either byte order), interfaces with their own link types and
timestamp resolutions, enhanced and simple packet blocks; every other block is skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from mqctl.wire.capture import MAX_PACKET, CaptureError, ChunkReader, Packet

MAGIC: bytes = b"\x0a\x0d\x0d\x0a"  # the section header block's type

SHB = 0x0A0D0D0A
IDB = 0x00000001
SPB = 0x00000003
EPB = 0x00000006
OBSOLETE_PB = 0x00000002
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14


class _Interface:
    __slots__ = ("linktype", "offset", "scale", "snaplen")

    def __init__(self, linktype: int, snaplen: int, scale: float, offset: int) -> None:
        self.linktype = linktype
        self.snaplen = snaplen
        self.scale = scale
        self.offset = offset


def read_pcapng(reader: ChunkReader, first: bytes = MAGIC) -> Iterator[Packet]:
    """Every packet of a pcapng stream whose 4-byte section-header magic was already read."""
    name = reader.name
    # The first block's type was consumed as the magic; read its length and byte-order magic.
    reader.buf = first + reader.buf[reader.pos :]
    reader.pos = 0
    reader.offset -= 4
    order = "<"
    interfaces: list[_Interface] = []
    head_le = struct.Struct("<II")
    head_be = struct.Struct(">II")
    head = head_le
    need = reader.need
    while need(12):
        buf = reader.buf
        pos = reader.pos
        block_type, length = head.unpack_from(buf, pos)
        if block_type == SHB:
            (magic,) = struct.unpack_from("<I", buf, pos + 8)
            if magic == BYTE_ORDER_MAGIC:
                order, head = "<", head_le
            elif magic == 0x4D3C2B1A:
                order, head = ">", head_be
            else:
                raise CaptureError(
                    f"{name}: bad pcapng section header at byte {reader.offset + pos}",
                    "the file is damaged",
                    truncated=bool(interfaces),
                )
            _, length = head.unpack_from(buf, pos)
            interfaces = []
        if length < 12 or length % 4 or length > MAX_PACKET:
            raise CaptureError(
                f"{name}: corrupt pcapng block at byte {reader.offset + pos} (length {length})",
                "the file is damaged; what came before was decoded",
                truncated=True,
            )
        if not need(length):
            raise reader.cut_off(length, 0)
        buf = reader.buf
        pos = reader.pos
        reader.pos = pos + length
        body = pos + 8
        if block_type == EPB:
            iface_id, ts_high, ts_low, caplen, wire_len = struct.unpack_from(
                order + "IIIII", buf, body
            )
            iface = _interface(interfaces, iface_id, name)
            data = buf[body + 20 : body + 20 + caplen]
            ts = ((ts_high << 32) | ts_low) * iface.scale + iface.offset
            yield Packet(ts, iface.linktype, data, wire_len)
        elif block_type == SPB:
            iface = _interface(interfaces, 0, name)
            (wire_len,) = struct.unpack_from(order + "I", buf, body)
            caplen = min(wire_len, length - 16, iface.snaplen or wire_len)
            yield Packet(0.0, iface.linktype, buf[body + 4 : body + 4 + caplen], wire_len)
        elif block_type == OBSOLETE_PB:
            iface_id, _drops, ts_high, ts_low, caplen, wire_len = struct.unpack_from(
                order + "HHIIII", buf, body
            )
            iface = _interface(interfaces, iface_id, name)
            data = buf[body + 20 : body + 20 + caplen]
            yield Packet(((ts_high << 32) | ts_low) * iface.scale, iface.linktype, data, wire_len)
        elif block_type == IDB:
            linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, body)
            scale, offset = _timestamp_options(buf, body + 8, pos + length - 4, order)
            interfaces.append(_Interface(linktype, snaplen, scale, offset))


def _interface(interfaces: list[_Interface], iface_id: int, name: str) -> _Interface:
    if iface_id < len(interfaces):
        return interfaces[iface_id]
    raise CaptureError(
        f"{name}: packet for interface {iface_id}, which no interface block describes",
        "the file is damaged",
    )


def _timestamp_options(buf: bytes, pos: int, end: int, order: str) -> tuple[float, int]:
    """if_tsresol (default microseconds) and if_tsoffset from an interface block's options."""
    scale = 1e-6
    offset = 0
    option = struct.Struct(order + "HH")
    while pos + 4 <= end:
        code, length = option.unpack_from(buf, pos)
        value = buf[pos + 4 : pos + 4 + length]
        if code == 0:
            break
        if code == OPT_IF_TSRESOL and length >= 1:
            resol = value[0]
            scale = 2.0 ** -(resol & 0x7F) if resol & 0x80 else 10.0**-resol
        elif code == OPT_IF_TSOFFSET and length >= 8:
            (offset,) = struct.unpack(order + "q", value[:8])
        pos += 4 + ((length + 3) & ~3)
    return scale, offset

"""The classic pcap reader: a 24-byte file header, then a 16-byte record header before each packet
(either byte order, micro- or nanosecond timestamps)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from mqctl.wire.capture import MAX_PACKET, CaptureError, ChunkReader, Packet

#: magic -> (byte order, timestamp resolution)
MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


def read_pcap(reader: ChunkReader, magic: bytes) -> Iterator[Packet]:
    """Classic pcap: a 24-byte file header, then 16-byte record headers each before its packet."""
    order, resolution = MAGICS[magic]
    if not reader.need(20):
        raise CaptureError(f"{reader.name}: pcap file header cut off", "the file is damaged")
    _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack_from(
        order + "HHiIII", reader.buf, reader.pos
    )
    reader.pos += 20
    linktype &= 0x0FFFFFFF  # the upper bits carry FCS information
    record = struct.Struct(order + "IIII")
    unpack_from = record.unpack_from
    need = reader.need
    new = tuple.__new__  # a NamedTuple without its keyword-handling __new__: twice as fast
    while need(16):
        sec, frac, caplen, wire_len = unpack_from(reader.buf, reader.pos)
        if caplen > MAX_PACKET:
            raise CaptureError(
                f"{reader.name}: corrupt pcap record at byte {reader.offset + reader.pos} "
                f"(claims {caplen} bytes)",
                "the file is damaged; what came before was decoded",
                truncated=True,
            )
        start = reader.pos + 16
        if len(reader.buf) - start < caplen:
            reader.pos += 16
            if not need(caplen):
                raise reader.cut_off(caplen, 0)
            start = reader.pos
        else:
            reader.pos = start
        reader.pos = start + caplen
        yield new(
            Packet,
            (sec + frac * resolution, linktype, reader.buf[start : start + caplen], wire_len),
        )

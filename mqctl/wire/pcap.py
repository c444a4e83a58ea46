"""Capture files in, packets out: opening (path, `-` for stdin, gzip) and the classic pcap reader.

Both readers stream: they walk a window of the file (a megabyte at a time) with `struct`, so memory
stays flat whatever the capture's size. A packet is a plain tuple (see `Packet`) because a capture
holds hundreds of thousands of them.
"""

from __future__ import annotations

import gzip
import struct
import sys
from collections.abc import Iterator
from typing import IO, NamedTuple

from mqctl.errors import BadInput

CHUNK = 1 << 20
MAX_PACKET = 1 << 24  # a record longer than this is corruption, not a packet

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"


class Packet(NamedTuple):
    """One captured packet: when, its link type, the bytes captured and the length on the wire."""

    ts: float
    linktype: int
    data: bytes
    wire_len: int


class CaptureError(BadInput):
    """The capture cannot be read. `truncated` marks a file cut off mid-way (after good packets)."""

    def __init__(self, message: str, hint: str | None = None, *, truncated: bool = False) -> None:
        super().__init__(message, hint)
        self.truncated = truncated
        self.packets_before = 0  # packets read before the problem (set by the pipeline)


class ChunkReader:
    """A window over a binary stream: `need(n)` makes n bytes available at `pos` in `buf`."""

    __slots__ = ("buf", "file", "name", "offset", "pos", "read", "stream")

    def __init__(self, stream: IO[bytes], name: str, prefix: bytes = b"") -> None:
        self.stream = stream
        self.file = stream  # the file underneath (below a gzip layer), closed last
        # read1 returns what has arrived instead of waiting for a whole chunk: a live pipe
        # (tcpdump -U -w - | mqctl wire read -) shows each packet as it comes.
        self.read = getattr(stream, "read1", stream.read)
        self.name = name
        self.buf = prefix
        self.pos = 0
        self.offset = 0  # file offset of buf[0]

    def need(self, n: int) -> bool:
        """True when n bytes are available from `pos`; False at a clean end of file."""
        if len(self.buf) - self.pos >= n:
            return True
        rest = self.buf[self.pos :]
        self.offset += self.pos
        parts = [rest]
        have = len(rest)
        while have < n:
            chunk = self.read(max(CHUNK, n - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self.buf = b"".join(parts)
        self.pos = 0
        if have >= n:
            return True
        if have == 0:
            return False
        raise self.cut_off(n, have)

    def cut_off(self, wanted: int, have: int) -> CaptureError:
        return CaptureError(
            f"{self.name}: capture file cut off at byte {self.offset + self.pos + have} "
            f"({have} of {wanted} bytes of the last record)",
            "the capture was not finished (tcpdump killed?); what came before was decoded",
            truncated=True,
        )


def open_capture(path: str) -> tuple[ChunkReader, bytes]:
    """Open a capture (a path, or `-` for stdin), undo gzip, and return it with its 4-byte magic."""
    name = "stdin" if path == "-" else path
    file: IO[bytes]
    if path == "-":
        file = sys.stdin.buffer
    else:
        try:
            file = open(path, "rb")  # noqa: SIM115 - closed by close_capture
        except OSError as exc:
            raise BadInput(f"cannot open capture {path}: {exc.strerror}", "check the path") from exc
    reader = ChunkReader(file, name)
    reader.file = file
    try:
        head = _read_exactly(file, 4)
        if head[:2] == GZIP_MAGIC:
            gz = gzip.GzipFile(fileobj=_Prefixed(head, file), mode="rb")  # type: ignore[call-overload]
            reader = ChunkReader(gz, name)
            reader.file = file
            try:
                head = _read_exactly(gz, 4)
            except (OSError, EOFError) as exc:
                raise CaptureError(f"{name}: broken gzip data: {exc}", "check the file") from exc
        if not head:
            raise CaptureError(f"{name}: the capture is empty", "capture some traffic first")
        if len(head) < 4 or (head not in PCAP_MAGICS and head != PCAPNG_MAGIC):
            raise CaptureError(
                f"{name}: not a pcap or pcapng capture (starts with {head.hex()})",
                "give a file written by tcpdump -w, dumpcap or Wireshark (gzip is fine)",
            )
    except BaseException:
        close_capture(reader)
        raise
    return reader, head


def close_capture(reader: ChunkReader) -> None:
    """Close what open_capture opened (never stdin)."""
    if reader.file is sys.stdin.buffer:
        return
    if reader.stream is not reader.file:
        reader.stream.close()  # the gzip layer; it leaves the file open
    reader.file.close()


def read_packets(path: str) -> Iterator[Packet]:
    """Every packet of a capture file (pcap or pcapng, maybe gzipped; `-` reads stdin)."""
    reader, magic = open_capture(path)
    try:
        if magic == PCAPNG_MAGIC:
            from mqctl.wire.pcapng import read_pcapng

            yield from read_pcapng(reader)
        else:
            yield from read_pcap(reader, magic)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CaptureError(
            f"{reader.name}: cannot read the capture: {exc}",
            "the file is damaged; what came before was decoded",
            truncated=True,
        ) from exc
    finally:
        close_capture(reader)


def read_pcap(reader: ChunkReader, magic: bytes) -> Iterator[Packet]:
    """Classic pcap: a 24-byte file header, then 16-byte record headers each before its packet."""
    order, resolution = PCAP_MAGICS[magic]
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


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts = []
    have = 0
    while have < n:
        chunk = stream.read(n - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


class _Prefixed:
    """A read-only stream: first the bytes already read (the gzip magic), then the rest."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = prefix
        self.stream = stream

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n < 0:
                data, self._prefix = self._prefix + self.stream.read(), b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self.stream.read(n)

    def close(self) -> None:
        self.stream.close()

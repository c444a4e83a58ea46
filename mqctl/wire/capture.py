"""What the capture readers share: the packet and error types, the streaming window they walk,
and opening a capture (a path, `-` for stdin, gzip undone).

Each container format is one small module importing only this one (`pcap.py`, `pcapng.py`);
`mqctl.wire.readers` holds the table that picks one by the file's first four bytes. The readers
stream: they walk a window of the file (a megabyte at a time) with `struct`, so
memory stays flat whatever the capture's size. A packet is a plain tuple (see `Packet`) because a
capture holds hundreds of thousands of them.
"""

from __future__ import annotations

import gzip
import sys
from typing import IO, Final, NamedTuple

from mqctl.errors import BadInput

CHUNK: Final = 1 << 20
MAX_PACKET: Final = 1 << 24  # a record longer than this is corruption, not a packet
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
    """Open a capture (a path, or `-` for stdin), undo gzip, and return it with its first 4 bytes
    (not checked here: `mqctl.wire.readers` knows the formats)."""
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

"""Capture files in, packets out: the readers of the container formats, keyed by file magic.

`read_packets` opens a capture (`mqctl.wire.capture`), looks its first four bytes up in `READERS`
and streams the packets of that format's reader. Adding a format is one module and one entry.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator

from mqctl.wire import pcap, pcapng
from mqctl.wire.capture import CaptureError, ChunkReader, Packet, close_capture, open_capture

#: a format's reader: the open window (just past the 4-byte magic) and that magic
PacketReader = Callable[[ChunkReader, bytes], Iterator[Packet]]

READERS: dict[bytes, PacketReader] = {
    **dict.fromkeys(pcap.MAGICS, pcap.read_pcap),
    pcapng.MAGIC: pcapng.read_pcapng,
}


def read_packets(path: str) -> Iterator[Packet]:
    """Every packet of a capture file (pcap or pcapng, maybe gzipped; `-` reads stdin)."""
    reader, magic = open_capture(path)
    try:
        read = READERS.get(magic)
        if read is None:
            raise CaptureError(
                f"{reader.name}: not a pcap or pcapng capture (starts with {magic.hex()})",
                "give a file written by tcpdump -w, dumpcap or Wireshark (gzip is fine)",
            )
        yield from read(reader, magic)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CaptureError(
            f"{reader.name}: cannot read the capture: {exc}",
            "the file is damaged; what came before was decoded",
            truncated=True,
        ) from exc
    finally:
        close_capture(reader)

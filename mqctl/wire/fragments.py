"""IP fragment reassembly (IPv4 and IPv6): fragments in, whole IP packets out.

`parse_packet` hands over each fragment as a `Fragment`; `Reassembler.add` keeps the pieces of
each datagram (by source, destination, protocol and identification) and returns the datagram,
rebuilt as a raw IP packet, once its pieces cover it from offset 0 to the last fragment's end.
A fragment cut by the snap length keeps what it has: the datagram is rebuilt up to the first
missing byte and its length on the wire says how much is missing (the TCP layer then reports the
cut as for any packet). Memory stays bounded: at most `MAX_DATAGRAMS` datagrams wait, the oldest
dropped first, and a datagram waits at most `TIMEOUT` seconds of capture time.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MAX_DATAGRAMS = 1024
TIMEOUT = 60.0  # seconds: what Linux allows a datagram's fragments (ipfrag_time is 30)

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")


class Fragment(NamedTuple):
    """One IP fragment: which datagram, where its piece goes, the piece, and what the cut took."""

    version: int
    src: bytes
    dst: bytes
    protocol: int
    ident: int
    offset: int  # of this piece in the datagram's payload, in bytes
    more: bool  # more fragments follow (MF)
    data: bytes  # the piece as captured
    missing: int  # bytes of the piece the snap length cut off


class _Datagram:
    __slots__ = ("end", "first_ts", "pieces")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.pieces: dict[int, tuple[bytes, int]] = {}  # offset -> (data, missing)
        self.end: int | None = None  # payload length, once the last fragment is seen


class Reassembler:
    """The fragments of the datagrams in flight; `add` returns a whole one when it can."""

    def __init__(self) -> None:
        self._datagrams: dict[tuple[bytes, bytes, int, int], _Datagram] = {}

    def add(self, ts: float, fragment: Fragment) -> tuple[bytes, int] | None:
        """(raw IP packet, its length on the wire) once the datagram is whole, else None."""
        key = (fragment.src, fragment.dst, fragment.protocol, fragment.ident)
        datagram = self._datagrams.get(key)
        if datagram is None or ts - datagram.first_ts > TIMEOUT:
            datagram = self._datagrams[key] = _Datagram(ts)
            if len(self._datagrams) > MAX_DATAGRAMS:
                del self._datagrams[next(iter(self._datagrams))]
        datagram.pieces[fragment.offset] = (fragment.data, fragment.missing)
        if not fragment.more:
            datagram.end = fragment.offset + len(fragment.data) + fragment.missing
        payload = self._whole(datagram)
        if payload is None:
            return None
        del self._datagrams[key]
        data, wire_payload = payload
        return _header(fragment, wire_payload) + data, _header_size(fragment) + wire_payload

    @staticmethod
    def _whole(datagram: _Datagram) -> tuple[bytes, int] | None:
        """(the payload up to its first missing byte, the full payload length) when every piece
        is there (cut pieces count: their length on the wire is known)."""
        if datagram.end is None:
            return None
        parts: list[bytes] = []
        covered = 0
        cut = False
        for offset in sorted(datagram.pieces):
            data, missing = datagram.pieces[offset]
            if offset > covered:
                return None  # a piece not seen yet
            if offset + len(data) + missing <= covered:
                continue  # a duplicate
            if not cut:
                parts.append(data[covered - offset :])
                cut = missing > 0
            covered = offset + len(data) + missing
        if covered < datagram.end:
            return None
        return b"".join(parts)[: datagram.end], datagram.end


def _header_size(fragment: Fragment) -> int:
    return 20 if fragment.version == 4 else 40


def _header(fragment: Fragment, payload: int) -> bytes:
    """A minimal header for the rebuilt datagram (no options, no extension headers)."""
    if fragment.version == 4:
        return _IPV4.pack(0x45, 0, 20 + payload, fragment.ident & 0xFFFF, 0, 64,
                          fragment.protocol, 0, fragment.src, fragment.dst)  # fmt: skip
    return _IPV6.pack(6 << 28, payload, fragment.protocol, 64, fragment.src, fragment.dst)

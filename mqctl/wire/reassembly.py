"""TCP reassembly for one direction of one connection: segments in, ordered byte runs and gaps out.

By sequence number (mod 2**32): retransmissions and overlaps are trimmed or dropped, segments
that arrive early wait until the hole before them is filled, and a hole that is never filled (a
packet the capture lost) becomes a `Gap` after which the stream decoder resynchronises: as soon as
the peer's acknowledgement passes it (`acked`), or when the held data outgrows the bounds below. A
direction first seen without its SYN (a capture started mid-connection) starts at its first
segment, behind a `Gap` of unknown size so that the decoder looks for the first plausible frame.
Bytes the snap length cut off are a `Gap` too.
"""

from __future__ import annotations

from typing import Final, NamedTuple

SEQ_MOD: Final = 1 << 32
SEQ_MASK: Final = SEQ_MOD - 1
HALF: Final = 1 << 31
# How much early data one direction may hold while waiting for a hole to be filled. Past either
# bound the hole is declared lost: real reordering is a few segments deep, and memory stays flat.
MAX_PENDING_SEGMENTS: Final = 128
MAX_PENDING_BYTES: Final = 4 << 20


class Gap(NamedTuple):
    """Bytes of the stream that are not in the capture. `size` is None when unknown (mid-stream)."""

    size: int | None
    reason: str


GAP_MIDSTREAM = "capture starts mid-connection"
GAP_LOST = "segment missing from the capture"
GAP_SNAPLEN = "packet cut by the capture's snap length"
GAP_ABANDONED = "out-of-order data never completed"

StreamItem = bytes | Gap


class StreamSide:
    """One direction of a TCP connection. `add` appends what became contiguous to `out`."""

    __slots__ = ("dropped_bytes", "fin", "next_seq", "pending", "pending_bytes")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, tuple[bytes, int]] = {}
        self.pending_bytes = 0
        self.fin = False  # the FIN was seen (it takes one sequence number after the data)
        self.dropped_bytes = 0  # retransmitted or overlapping bytes, for the summary

    def start(self, seq: int, syn: bool, out: list[StreamItem]) -> None:
        """Set the initial sequence number: after the SYN, or at a mid-connection segment."""
        if syn:
            self.next_seq = (seq + 1) & SEQ_MASK
        else:
            self.next_seq = seq
            out.append(Gap(None, GAP_MIDSTREAM))

    def add(self, seq: int, syn: bool, payload: bytes, missing: int, out: list[StreamItem]) -> None:
        """Take one segment's payload (with `missing` bytes cut off its end by the snap length)."""
        if self.next_seq is None:
            self.start(seq, syn, out)
            if syn:
                seq = (seq + 1) & SEQ_MASK
        elif syn:
            seq = (seq + 1) & SEQ_MASK  # a retransmitted SYN; it occupies one sequence number
        if not payload and not missing:
            return
        next_seq = self.next_seq
        assert next_seq is not None
        ahead = (seq - next_seq) & SEQ_MASK
        if ahead == 0 and not self.pending:
            # The common case: in order, nothing waiting.
            out.append(payload)
            self.next_seq = (next_seq + len(payload)) & SEQ_MASK
            if missing:
                out.append(Gap(missing, GAP_SNAPLEN))
                self.next_seq = (self.next_seq + missing) & SEQ_MASK
            return
        if ahead and ahead < HALF:
            self._hold(seq, payload, missing, out)
            return
        self._take(seq, payload, missing, out)
        self._drain(out)

    def acked(self, ack: int, out: list[StreamItem]) -> None:
        """The peer acknowledged the stream up to `ack`: bytes before it that the capture does not
        have were delivered unseen and will not come (no retransmission of acknowledged data), so
        they are a `Gap` now, not after the pending bounds are reached."""
        next_seq = self.next_seq
        if next_seq is None:
            return
        ahead = (ack - next_seq) & SEQ_MASK
        if self.fin and 0 < ahead < HALF:
            ahead -= 1  # the FIN takes a sequence number of its own
        if not ahead or ahead >= HALF:
            return
        if self.pending:
            first = min((seq - next_seq) & SEQ_MASK for seq in self.pending)
            ahead = min(ahead, first)
        out.append(Gap(ahead, GAP_LOST))
        self.next_seq = (next_seq + ahead) & SEQ_MASK
        self._drain(out)

    def flush(self, out: list[StreamItem]) -> None:
        """The stream ended (FIN, RST, end of capture): what still waits goes out after its gaps."""
        while self.pending:
            self._skip_to_first_pending(out, GAP_LOST)

    def _take(self, seq: int, payload: bytes, missing: int, out: list[StreamItem]) -> None:
        """A segment at or before next_seq: drop what was seen already, emit the rest."""
        next_seq = self.next_seq
        assert next_seq is not None
        behind = (next_seq - seq) & SEQ_MASK
        size = len(payload) + missing
        if behind >= size:
            self.dropped_bytes += size
            return
        if behind:
            self.dropped_bytes += min(behind, len(payload))
        if behind < len(payload):
            data = payload[behind:] if behind else payload
            out.append(data)
            gap = missing
        else:
            data = b""
            gap = size - behind
        if gap:
            out.append(Gap(gap, GAP_SNAPLEN))
        self.next_seq = (next_seq + len(data) + gap) & SEQ_MASK

    def _hold(self, seq: int, payload: bytes, missing: int, out: list[StreamItem]) -> None:
        held = self.pending.get(seq)
        if held is not None and len(held[0]) >= len(payload):
            self.dropped_bytes += len(payload)
            return
        if held is not None:
            self.pending_bytes -= len(held[0])
        self.pending[seq] = (payload, missing)
        self.pending_bytes += len(payload)
        while self.pending and (
            len(self.pending) > MAX_PENDING_SEGMENTS or self.pending_bytes > MAX_PENDING_BYTES
        ):
            self._skip_to_first_pending(out, GAP_LOST)

    def _drain(self, out: list[StreamItem]) -> None:
        """Emit every waiting segment that the stream has now reached."""
        pending = self.pending
        while pending:
            next_seq = self.next_seq
            assert next_seq is not None
            for seq in pending:
                ahead = (seq - next_seq) & SEQ_MASK
                if ahead == 0 or ahead >= HALF:
                    payload, missing = pending.pop(seq)
                    self.pending_bytes -= len(payload)
                    self._take(seq, payload, missing, out)
                    break
            else:
                return

    def _skip_to_first_pending(self, out: list[StreamItem], reason: str) -> None:
        next_seq = self.next_seq
        assert next_seq is not None
        first = min(self.pending, key=lambda seq: (seq - next_seq) & SEQ_MASK)
        size = (first - next_seq) & SEQ_MASK
        if size:
            out.append(Gap(size, reason))
        self.next_seq = first
        self._drain(out)

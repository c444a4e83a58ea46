"""The wire pipeline: source -> packets -> segments -> byte runs -> frames -> records.

`WirePipeline` is the one object every source feeds. A capture file (`read_capture`) and a live
sniffer push link-layer packets (`packet`); a proxy, which already holds each connection's ordered
bytes, pushes them directly (`stream_data`, `stream_closed`). Everything after that first step —
connection tracking, reassembly, the codec's stream decoder, the records the renderers take — is the
same, so `wire read`, `wire sniff` and `wire proxy` show the same thing in the same way.

A `Record` is one event of one connection in one direction: a frame, the protocol header, or a
problem (a gap in the capture, bytes skipped to resynchronise, a frame cut off at the end).

A live source, in short (`render_records` and `WireWriter(live=True)` do the rest):

    pipeline = WirePipeline(ports=(5672,))
    records = pipeline.packet(ts, linktype, frame, wire_len)             # sniffer: raw frames
    records = pipeline.stream_data(ts, client, server, data, from_client)  # proxy: "ip:port"s
    records = pipeline.stream_closed(ts, client, server)                 # proxy: it ended
    records = pipeline.finish(ts)                                        # the source stopped
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from mqctl.errors import BadInput
from mqctl.wire.capture import CaptureError
from mqctl.wire.choices import DEFAULT_PORTS
from mqctl.wire.decoder import NEED_DATA, FrameDecoder
from mqctl.wire.fragments import Fragment, Reassembler
from mqctl.wire.frames import GAP, RESYNC, CutFrame, DecodeProblem, Event
from mqctl.wire.packets import (
    LINKTYPE_RAW,
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    Segment,
    check_linktype,
    format_endpoint,
    parse_packet,
)
from mqctl.wire.readers import read_packets
from mqctl.wire.reassembly import SEQ_MASK, Gap, StreamItem, StreamSide

TLS_HANDSHAKE: Final = b"\x16\x03"  # a TLS record: handshake, protocol version 3.x
ENCRYPTED = "encrypted"
ENCRYPTED_PROBLEM = DecodeProblem(
    0,
    ENCRYPTED,
    "TLS-encrypted (amqps): the frames cannot be read from a capture; "
    "watch a plaintext client through mqctl wire proxy --upstream-tls instead",
)
PROTOCOL_MAGIC: Final = b"AMQP"
# Connections whose end was seen are remembered a while, so that a late retransmission does not
# look like a new connection started mid-stream; bounded, so that memory stays flat.
RECENTLY_CLOSED: Final = 4096


@dataclass(eq=False)
class Connection:
    """One TCP connection carrying AMQP: its number in the capture and its two endpoints."""

    id: int
    client: str
    server: str
    first_ts: float
    closed: bool = False


class Record(NamedTuple):
    """One event of one connection in one direction, ready for a renderer."""

    ts: float
    conn: Connection
    from_client: bool
    event: Event

    @property
    def src(self) -> str:
        return self.conn.client if self.from_client else self.conn.server

    @property
    def dst(self) -> str:
        return self.conn.server if self.from_client else self.conn.client


class _Direction:
    """One direction of a connection: reassembly and the stream decoder.

    The decoder is made with the first bytes, when it is known whether the stream starts at its
    beginning or mid-connection (then the decoder looks for the first plausible frame).
    """

    __slots__ = ("decoder", "encrypted", "from_client", "side")

    def __init__(self, from_client: bool) -> None:
        self.from_client = from_client
        self.side = StreamSide()
        self.decoder: FrameDecoder | None = None
        self.encrypted = False  # TLS (amqps): reported once, then passed over


@dataclass(eq=False)
class _Flow:
    conn: Connection
    directions: dict[bool, _Direction] = field(default_factory=dict)
    ended: set[bool] = field(default_factory=set)  # the directions that sent their FIN
    # Seen from its start (the SYN, or the client's protocol header): no "mid-connection" gaps.
    fresh: bool = False

    def direction(self, from_client: bool) -> _Direction:
        found = self.directions.get(from_client)
        if found is None:
            found = self.directions[from_client] = _Direction(from_client)
        return found


FlowKey = tuple[bytes, int, bytes, int]
# builds a NamedTuple without its keyword-handling __new__: twice as fast
_new: Final = tuple.__new__


class WirePipeline:
    """Turns what a source delivers into `Record`s. Not thread-safe: one feeder at a time.

    `ports`: TCP ports taken as AMQP; with `detect`, a connection on any other port is taken when
    its client's first bytes are an AMQP protocol header.
    """

    def __init__(self, ports: Iterable[int] = DEFAULT_PORTS, detect: bool = True) -> None:
        self.ports = frozenset(ports)
        self.detect = detect
        self._flows: dict[FlowKey, tuple[_Flow, bool]] = {}
        self._ignored: dict[FlowKey, None] = {}
        self._closed: dict[FlowKey, None] = {}
        self._streams: dict[tuple[str, str], _Flow] = {}  # proxied connections, by endpoints
        self._next_id = 1
        self._checked_linktypes: set[int] = set()
        self._fragments = Reassembler()
        self.connections_seen = 0

    # --- sources push here ------------------------------------------------------------------

    def packet(self, ts: float, linktype: int, data: bytes, wire_len: int) -> list[Record]:
        """A captured link-layer frame (from a capture file or a live socket)."""
        if linktype not in self._checked_linktypes:
            check_linktype(linktype)
            self._checked_linktypes.add(linktype)
        seg = parse_packet(linktype, data, wire_len)
        if seg is None:
            return []
        if type(seg) is Fragment:
            whole = self._fragments.add(ts, seg)
            if whole is None:
                return []
            seg = parse_packet(LINKTYPE_RAW, whole[0], whole[1])
            if seg is None or type(seg) is Fragment:
                return []
        assert type(seg) is Segment
        return self.segment(ts, seg)

    def segment(self, ts: float, seg: Segment) -> list[Record]:
        """One TCP segment."""
        src, sport, dst, dport, seq, ack, flags, _payload, _missing = seg
        key = (src, sport, dst, dport)
        found = self._flows.get(key)
        opening = flags & (TCP_SYN | TCP_ACK) == TCP_SYN
        if (
            found is not None
            and opening
            and (old := found[0].directions.get(found[1])) is not None
            and old.side.next_seq != (seq + 1) & SEQ_MASK  # not a retransmitted SYN
        ):
            # A new SYN from a client whose old connection on these ports was never seen ending
            # (port reuse): close the old one, start afresh.
            ended: list[Record] = []
            self._end(ts, key, found[0], ended)
            return ended + self.segment(ts, seg)
        if found is None:
            if key in self._closed and opening:
                self._closed.pop(key)  # the ports are used again, by a new connection
                self._closed.pop((dst, dport, src, sport), None)
            if key in self._ignored or key in self._closed:
                return []
            found = self._new_flow(ts, seg, key)
            if found is None:
                return []
        flow, from_client = found
        if flags & TCP_ACK:
            peer = flow.directions.get(not from_client)
            if peer is not None and peer.side.next_seq is not None and ack != peer.side.next_seq:
                lost = self._acked(ts, flow, peer, ack)
                if lost:
                    return lost + self._in_flow(ts, seg, flow, from_client)
        return self._in_flow(ts, seg, flow, from_client)

    def _acked(self, ts: float, flow: _Flow, peer: _Direction, ack: int) -> list[Record]:
        """The other direction's bytes this acknowledgement shows lost (see StreamSide.acked)."""
        items: list[StreamItem] = []
        peer.side.acked(ack, items)
        out: list[Record] = []
        if items:
            self._decode(ts, flow, peer, items, out)
        return out

    def _in_flow(self, ts: float, seg: Segment, flow: _Flow, from_client: bool) -> list[Record]:
        """One segment of a connection already known."""
        src, sport, dst, dport, seq, _ack, flags, payload, missing = seg
        key = (src, sport, dst, dport)
        direction = flow.direction(from_client)
        side = direction.side
        decoder = direction.decoder
        if (
            decoder is not None
            and seq == side.next_seq
            and payload
            and not missing
            and not side.pending
            and not flags & (TCP_SYN | TCP_FIN | TCP_RST)
        ):
            # The common case, without the reassembly's bookkeeping: the next bytes, in order.
            side.next_seq = (seq + len(payload)) & SEQ_MASK
            decoder.feed(payload)
            out: list[Record] = []
            self._events(ts, flow.conn, from_client, decoder, out)
            return out
        out = []
        items: list[StreamItem] = []
        if (
            side.next_seq is None
            and from_client
            and (flags & TCP_SYN or payload[:4] == PROTOCOL_MAGIC)
        ):
            flow.fresh = True
        side.add(seq, bool(flags & TCP_SYN), payload, missing, items)
        if items:
            self._decode(ts, flow, direction, items, out)
        if flags & (TCP_FIN | TCP_RST):
            side.fin = side.fin or bool(flags & TCP_FIN)
            flow.ended.add(from_client)
            if flags & TCP_RST or len(flow.ended) == 2:
                self._end(ts, key, flow, out)
        return out

    def stream_data(
        self, ts: float, client: str, server: str, data: bytes, from_client: bool
    ) -> list[Record]:
        """Ordered bytes of a connection that a proxy forwarded (`ip:port` endpoints)."""
        flow = self._stream_flow(ts, client, server)
        out: list[Record] = []
        self._decode(ts, flow, flow.direction(from_client), [data], out)
        return out

    def stream_gap(
        self, ts: float, client: str, server: str, from_client: bool, size: int, reason: str
    ) -> list[Record]:
        """Bytes of a pushed stream the observer did not see: a gap, then the decoder resyncs."""
        flow = self._stream_flow(ts, client, server)
        out: list[Record] = []
        self._decode(ts, flow, flow.direction(from_client), [Gap(size, reason)], out)
        return out

    def stream_closed(self, ts: float, client: str, server: str) -> list[Record]:
        """The proxied connection ended: what the decoders still hold is reported."""
        flow = self._streams.pop((client, server), None)
        out: list[Record] = []
        if flow is not None:
            self._flush(ts, flow, out)
        return out

    def finish(self, ts: float | None = None) -> list[Record]:
        """The source ended: flush every connection still open."""
        out: list[Record] = []
        for key, (flow, from_client) in list(self._flows.items()):
            if from_client and key in self._flows:
                self._end(ts if ts is not None else flow.conn.first_ts, key, flow, out)
        for flow in self._streams.values():
            self._flush(ts if ts is not None else flow.conn.first_ts, flow, out)
        self._streams.clear()
        return out

    # --- inside -------------------------------------------------------------------------------

    def _new_flow(self, ts: float, seg: Segment, key: FlowKey) -> tuple[_Flow, bool] | None:
        ports = self.ports
        on_port = seg.sport in ports or seg.dport in ports
        starts_amqp = seg.payload[:4] == PROTOCOL_MAGIC
        if not on_port and not (self.detect and starts_amqp):
            if seg.payload:
                self._remember(self._ignored, key)
            # Until a connection on another port sends bytes, it may still turn out to be AMQP.
            return None
        if seg.flags & TCP_SYN:
            from_client = not seg.flags & TCP_ACK
        elif starts_amqp or (seg.dport in ports and seg.sport not in ports):
            from_client = True
        elif seg.sport in ports and seg.dport not in ports:
            from_client = False
        else:
            from_client = True
        here = format_endpoint(seg.src, seg.sport)
        there = format_endpoint(seg.dst, seg.dport)
        client, server = (here, there) if from_client else (there, here)
        conn = Connection(self._next_id, client, server, ts)
        self._next_id += 1
        self.connections_seen += 1
        flow = _Flow(conn)
        reverse = (seg.dst, seg.dport, seg.src, seg.sport)
        self._flows[key] = (flow, from_client)
        self._flows[reverse] = (flow, not from_client)
        self._ignored.pop(key, None)
        self._ignored.pop(reverse, None)
        return flow, from_client

    def _stream_flow(self, ts: float, client: str, server: str) -> _Flow:
        flow = self._streams.get((client, server))
        if flow is None:
            conn = Connection(self._next_id, client, server, ts)
            self._next_id += 1
            self.connections_seen += 1
            flow = self._streams[(client, server)] = _Flow(conn, fresh=True)
        return flow

    def _decode(
        self,
        ts: float,
        flow: _Flow,
        direction: _Direction,
        items: list[StreamItem],
        out: list[Record],
    ) -> None:
        conn = flow.conn
        from_client = direction.from_client
        append = out.append
        decoder = direction.decoder
        if direction.encrypted:
            return
        for item in items:
            if type(item) is bytes:
                if decoder is None:
                    if item[:2] == TLS_HANDSHAKE:
                        direction.encrypted = True
                        append(_new(Record, (ts, conn, from_client, ENCRYPTED_PROBLEM)))
                        return
                    decoder = direction.decoder = FrameDecoder()
                decoder.feed(item)
            else:
                assert isinstance(item, Gap)
                if decoder is None:
                    decoder = direction.decoder = FrameDecoder(resync=item.size is None)
                    if item.size is None:
                        if not flow.fresh:
                            append(
                                Record(ts, conn, from_client, DecodeProblem(0, GAP, item.reason))
                            )
                        else:  # its start, not a loss: only the SYN was not captured
                            decoder = direction.decoder = FrameDecoder()
                        continue
                decoder.gap(item.size)
                # what the gap made: a cut frame and/or a gap problem, told why
                for _ in range(2):
                    event = decoder.next_event()
                    if event is NEED_DATA:
                        break
                    if type(event) is CutFrame:
                        event = event._replace(reason=item.reason)
                    elif type(event) is DecodeProblem and event.kind == GAP:
                        event = event._replace(reason=f"{event.reason}: {item.reason}")
                    append(_new(Record, (ts, conn, from_client, event)))
                    if type(event) is not CutFrame:
                        break
            self._events(ts, conn, from_client, decoder, out)

    @staticmethod
    def _events(
        ts: float, conn: Connection, from_client: bool, decoder: FrameDecoder, out: list[Record]
    ) -> None:
        """Every event the decoder has now, as records (through the decoder's iterator: ordinary
        frames come out of its inline splitting loop, without a call each)."""
        append = out.append
        # locals: compiled, a class named as a global is a dictionary look-up per frame
        problem, record = DecodeProblem, Record
        for event in decoder:
            if type(event) is problem and event.kind == RESYNC and not event.skipped_bytes:
                continue  # found a frame at once: nothing was skipped, nothing to report
            append(_new(record, (ts, conn, from_client, event)))

    def _end(self, ts: float, key: FlowKey, flow: _Flow, out: list[Record]) -> None:
        """A captured connection ended: flush it, forget it, remember its ports a while."""
        self._flush(ts, flow, out)
        reverse = (key[2], key[3], key[0], key[1])
        for k in (key, reverse):
            self._flows.pop(k, None)
            self._remember(self._closed, k)

    def _flush(self, ts: float, flow: _Flow, out: list[Record]) -> None:
        """What the reassembly and the decoders of a connection still hold, as records."""
        for direction in flow.directions.values():
            items: list[StreamItem] = []
            direction.side.flush(items)
            if items:
                self._decode(ts, flow, direction, items, out)
            problem = direction.decoder.finish() if direction.decoder is not None else None
            if problem is not None:
                out.append(Record(ts, flow.conn, direction.from_client, problem))
        flow.conn.closed = True

    @staticmethod
    def _remember(table: dict[FlowKey, None], key: FlowKey) -> None:
        table[key] = None
        if len(table) > RECENTLY_CLOSED:
            del table[next(iter(table))]


class CaptureRecords:
    """The records of a capture file (`-` for stdin), streamed as it is iterated (once).

    `packets` counts the packets read so far. A capture cut off mid-way raises its
    `CaptureError` after the records decoded before the cut; `packets` then says how many
    packets came before it (0: nothing of the file could be read).
    """

    def __init__(self, path: str, ports: Iterable[int] = DEFAULT_PORTS, detect: bool = True):
        self.path = path
        self.pipeline = WirePipeline(ports, detect)
        self.packets = 0

    def __iter__(self) -> Iterator[Record]:
        pipeline = self.pipeline
        packet = pipeline.packet
        last_ts: float | None = None
        try:
            for ts, linktype, data, wire_len in read_packets(self.path):
                last_ts = ts
                self.packets += 1
                records = packet(ts, linktype, data, wire_len)
                if records:
                    yield from records
        except CaptureError as exc:
            if exc.truncated:  # keep what the connections still hold, then say the file is cut
                yield from pipeline.finish(last_ts)
            raise
        yield from pipeline.finish(last_ts)


def read_capture(
    path: str, ports: Iterable[int] = DEFAULT_PORTS, detect: bool = True
) -> CaptureRecords:
    """Every record of a capture file (`-` for stdin), streamed: see `CaptureRecords`."""
    ports = tuple(ports)
    for port in ports:
        if not 1 <= port <= 65535:
            raise BadInput(f"--port {port} is no TCP port", "give 1 to 65535, e.g. --port 5673")
    return CaptureRecords(path, ports, detect)

"""What the live sources share: sinks for the proxy's observed traffic.

The proxy's decoder thread hands every `LiveEvent` to `proxy_records`, which feeds the shared wire
pipeline (whose records go to the renderer) and a `PcapRecorder` when asked: it writes the
connections as a pcap file (synthesised Ethernet/IPv4-or-6/TCP headers with true sequence numbers,
so tshark and `wire read` see the original conversations, holes included where the observer had to
skip bytes). `sniff_records` does the same for captured packets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from mqctl.wire.capture import Packet
from mqctl.wire.packets import LINKTYPE_ETHERNET, TCP_ACK, TCP_RST, format_endpoint
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter, ip_tcp_packet
from mqctl.wire.pipeline import Record, WirePipeline
from mqctl.wire.proxy import Closed, Data, Dropped, LiveEvent, LiveSink, Opened
from mqctl.wire.secret_mask import ClientSecretMask

FLUSH_EVERY = 0.5  # seconds: a pcap being written live stays readable without a flush per packet


class FanOut:
    """Several sinks as one; each sees every event in order."""

    def __init__(self, sinks: Sequence[LiveSink]) -> None:
        self.sinks = list(sinks)

    def handle(self, event: LiveEvent) -> None:
        for sink in self.sinks:
            sink.handle(event)

    def finish(self) -> None:
        for sink in self.sinks:
            sink.finish()


class PcapRecorder:
    """Proxied connections as a pcap: handshake, data segments with acks, FIN or RST."""

    def __init__(self, stream: IO[bytes], mask_passwords: bool = False) -> None:
        self.stream = stream
        self.writer = PcapWriter(stream, LINKTYPE_ETHERNET)
        self.flows: dict[int, TcpFlowWriter] = {}
        self.masks: dict[int, ClientSecretMask] | None = {} if mask_passwords else None
        self._flushed = time.monotonic()

    def _release(self, conn: int, flow: TcpFlowWriter, ts: float) -> None:
        """Write what the mask still holds for a client (before a hole or the end)."""
        mask = self.masks.get(conn) if self.masks is not None else None
        if mask is not None:
            held = mask.flush()
            if held:
                flow.data(ts, True, held)

    def handle(self, event: LiveEvent) -> None:
        if isinstance(event, Data):
            flow = self.flows.get(event.conn)
            if flow is not None:
                data = event.data
                if event.from_client and self.masks is not None:
                    data = self.masks.setdefault(event.conn, ClientSecretMask()).feed(data)
                if data:
                    flow.data(event.ts, event.from_client, data)
        elif isinstance(event, Opened):
            flow = TcpFlowWriter(self.writer, event.client, event.server)
            flow.open(event.ts)
            self.flows[event.conn] = flow
        elif isinstance(event, Dropped):
            flow = self.flows.get(event.conn)
            if flow is not None and event.from_client and self.masks is not None:
                self._release(event.conn, flow, event.ts)
                self.masks.setdefault(event.conn, ClientSecretMask()).skipped()
            if flow is not None:  # the bytes went by unseen: leave a hole of their size
                flow.seq[event.from_client] = (
                    flow.seq[event.from_client] + event.size
                ) & 0xFFFFFFFF
        elif isinstance(event, Closed):
            flow = self.flows.pop(event.conn, None)
            if flow is not None:
                self._release(event.conn, flow, event.ts)
                if self.masks is not None:
                    self.masks.pop(event.conn, None)
                if "reset by" in event.reason:
                    self._reset(flow, event.ts, from_client="reset by client" in event.reason)
                else:
                    flow.close(event.ts)
        now = time.monotonic()
        if now - self._flushed >= FLUSH_EVERY:
            self._flushed = now
            self.stream.flush()

    @staticmethod
    def _reset(flow: TcpFlowWriter, ts: float, from_client: bool) -> None:
        src, dst = (flow.client, flow.server) if from_client else (flow.server, flow.client)
        packet = ip_tcp_packet(
            src[0],
            src[1],
            dst[0],
            dst[1],
            flow.seq[from_client],
            flow.seq[not from_client],
            TCP_RST | TCP_ACK,
        )
        flow.writer.write_ip(ts, packet)

    def finish(self) -> None:
        now = time.time()
        for conn, flow in self.flows.items():
            self._release(conn, flow, now)
            flow.close(now)
        self.flows.clear()
        self.stream.flush()


def endpoint_names(event: Opened) -> tuple[str, str]:
    return format_endpoint(*event.client), format_endpoint(*event.server)


# --- sources into the pipeline -----------------------------------------------------------------


def _stream_gap(
    pipeline: WirePipeline, ts: float, ends: tuple[str, str], from_client: bool, size: int
) -> list[Record]:
    """Bytes the observer skipped, as a gap in that direction (the decoder resynchronises)."""
    reason = "skipped: the output could not keep up with the traffic"
    return pipeline.stream_gap(ts, ends[0], ends[1], from_client, size, reason)


def proxy_records(
    events: Iterable[LiveEvent], pipeline: WirePipeline, also: LiveSink | None = None
) -> Iterator[Record]:
    """The records of proxied traffic, in order; `also` (a pcap recorder) sees every event."""
    names: dict[int, tuple[str, str]] = {}
    stream_data, stream_closed = pipeline.stream_data, pipeline.stream_closed
    for event in events:
        if also is not None:
            also.handle(event)
        if type(event) is Data:
            ends = names.get(event.conn)
            if ends is not None:
                records = stream_data(event.ts, ends[0], ends[1], event.data, event.from_client)
                if records:
                    yield from records
        elif type(event) is Opened:
            ends = names[event.conn] = endpoint_names(event)
            stream_data(event.ts, ends[0], ends[1], b"", True)  # number connections as opened
        elif type(event) is Dropped:
            ends = names.get(event.conn)
            if ends is not None:
                yield from _stream_gap(pipeline, event.ts, ends, event.from_client, event.size)
        elif type(event) is Closed:
            ends = names.pop(event.conn, None)
            if ends is not None:
                yield from stream_closed(event.ts, ends[0], ends[1])
    yield from pipeline.finish(time.time())


def sniff_records(
    packets: Iterable[Packet], pipeline: WirePipeline, writer: PcapWriter | None = None
) -> Iterator[Record]:
    """The records of sniffed packets; `writer` saves each packet as captured."""
    packet = pipeline.packet
    last_ts: float | None = None
    for ts, linktype, data, wire_len in packets:
        last_ts = ts
        if writer is not None:
            writer.write(ts, data)
        records = packet(ts, linktype, data, wire_len)
        if records:
            yield from records
    yield from pipeline.finish(last_ts)

"""What the live sources share: sinks for the proxy's observed traffic.

The proxy's decoder thread hands every `LiveEvent` to a `FanOut` of sinks: `PcapRecorder` writes
the connections as a pcap file (synthesised Ethernet/IPv4-or-6/TCP headers with true sequence
numbers, so tshark and `wire read` see the original conversations, holes included where the
observer had to skip bytes), and `PipelineSink` feeds the shared wire pipeline, whose records go to
the renderer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import IO

from mqctl.wire.packets import LINKTYPE_ETHERNET, TCP_ACK, TCP_RST, format_endpoint
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter, ip_tcp_packet
from mqctl.wire.proxy import Closed, Data, Dropped, LiveEvent, LiveSink, Opened

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

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.writer = PcapWriter(stream, LINKTYPE_ETHERNET)
        self.flows: dict[int, TcpFlowWriter] = {}
        self._flushed = time.monotonic()

    def handle(self, event: LiveEvent) -> None:
        if isinstance(event, Data):
            flow = self.flows.get(event.conn)
            if flow is not None:
                flow.data(event.ts, event.from_client, event.data)
        elif isinstance(event, Opened):
            flow = TcpFlowWriter(self.writer, event.client, event.server)
            flow.open(event.ts)
            self.flows[event.conn] = flow
        elif isinstance(event, Dropped):
            flow = self.flows.get(event.conn)
            if flow is not None:  # the bytes went by unseen: leave a hole of their size
                flow.seq[event.from_client] = (
                    flow.seq[event.from_client] + event.size
                ) & 0xFFFFFFFF
        elif isinstance(event, Closed):
            flow = self.flows.pop(event.conn, None)
            if flow is not None:
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
        for flow in self.flows.values():
            flow.close(now)
        self.flows.clear()
        self.stream.flush()


def endpoint_names(event: Opened) -> tuple[str, str]:
    return format_endpoint(*event.client), format_endpoint(*event.server)

"""The run loops of the live sources: `run_proxy` and `run_sniff`, callable without typer.

Each runs its source until it is stopped (SIGINT or SIGTERM when called on the main thread, or the
`stop` event / `TcpProxy.shutdown`), hands the records to `show` (a renderer: it returns when the
records end or when it gives up, e.g. `--limit` reached or stdout closed) and returns what
happened as a value. Nothing here prints: notices go to the `info` / `warn` callables given.
When `show` returns early, a `--write` recording goes on until the source stops.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mqctl.errors import BadInput, OperationFailed
from mqctl.wire.live import PcapRecorder, proxy_records, sniff_records
from mqctl.wire.pcapwriter import PcapWriter
from mqctl.wire.pipeline import Record, WirePipeline
from mqctl.wire.proxy import LiveEvent, LiveTap, ProxySettings, ProxyStats, TcpProxy, show_address
from mqctl.wire.sniff import (
    SniffSettings,
    SniffStats,
    kernel_drops,
    open_capture_socket,
    sniff_packets,
)

#: a renderer of records: takes them until they end, or returns earlier when it gives up
RecordSink = Callable[[Iterable[Record]], None]
Notice = Callable[[str], None]


@dataclass(frozen=True)
class ProxyOutcome:
    """What a proxy run did: its counters, and why decoding stopped if it did (forwarding went on)."""

    stats: ProxyStats
    decode_error: BaseException | None = None

    def check(self) -> None:
        """Raise OperationFailed when decoding stopped before the end."""
        if self.decode_error is not None:
            raise OperationFailed(f"decoding stopped: {self.decode_error}") from self.decode_error


@dataclass(frozen=True)
class SniffOutcome:
    """What a sniff run captured, and how many packets the kernel dropped (decoding too slow)."""

    packets: int
    kernel_drops: int


def open_for_writing(path: Path | None) -> IO[bytes] | None:
    """The `--write` file, opened; BadInput when it cannot be."""
    if path is None:
        return None
    try:
        return path.open("wb")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}", "check the path") from None


def run_proxy(
    settings: ProxySettings,
    show: RecordSink,
    write: Path | None = None,
    *,
    info: Notice,
    warn: Notice,
    proxy_ready: Callable[[TcpProxy], None] | None = None,
    mask_passwords: bool = False,
) -> ProxyOutcome:
    """Forward until stopped, showing the frames; `write` also records the traffic as a pcap,
    with the clients' passwords in clear unless `mask_passwords` (see `mqctl.wire.secret_mask`).

    `proxy_ready` gets the `TcpProxy` before it listens (to stop it with `shutdown()`)."""
    if settings.listen == ("", 0):
        raise BadInput(
            "--listen :0 would pick a different free port on each interface",
            "give a port (:5673), or one address with port 0 (127.0.0.1:0)",
        )
    stream = open_for_writing(write)
    recorder = PcapRecorder(stream, mask_passwords) if stream is not None else None
    tap = LiveTap(settings.queue_bytes, warn=warn)

    def consume(events: Iterator[LiveEvent]) -> None:
        show(proxy_records(events, WirePipeline(), recorder))
        if recorder is not None:  # the view gave up: keep recording what still goes by
            for event in events:
                recorder.handle(event)
            recorder.finish()

    proxy = TcpProxy(settings, tap, warn=warn)
    if proxy_ready is not None:
        proxy_ready(proxy)
    upstream = show_address(*settings.upstream)
    tls = " (TLS)" if settings.upstream_tls else ""

    def listening(addresses: list[tuple[str, int]]) -> None:
        tap.start(consume)  # only now: a proxy that cannot listen has nothing to summarise
        where = ", ".join(show_address(*a) for a in addresses)
        if not settings.listen[0]:
            where += " (every interface)"
        info(f"wire proxy: listening on {where}, forwarding to {upstream}{tls}; Ctrl-C stops")

    try:
        proxy.serve(listening)
    finally:
        tap.close()
        if stream is not None:
            stream.close()
    return ProxyOutcome(proxy.stats, tap.error)


def run_sniff(
    settings: SniffSettings,
    show: RecordSink,
    write: Path | None = None,
    *,
    info: Notice,
    stop: threading.Event | None = None,
) -> SniffOutcome:
    """Capture until stopped (Ctrl-C or SIGTERM on the main thread, or `stop`), showing the frames;
    `write` also saves the captured packets as a pcap."""
    sock, linktype = open_capture_socket(settings)
    stream = open_for_writing(write)
    pcap = PcapWriter(stream, linktype) if stream is not None else None
    stop = stop or threading.Event()
    stats = SniffStats()

    def stop_once(_signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: give up on the summary
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop_once) for sig in (signal.SIGINT, signal.SIGTERM)}
    info(f"wire sniff: capturing tcp port {settings.port} on {settings.interface}; Ctrl-C stops")
    try:
        packets = sniff_packets(sock, linktype, stats, stop)
        show(sniff_records(packets, WirePipeline(ports=(settings.port,)), pcap))
        drops = kernel_drops(sock)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        if stream is not None:
            stream.close()
    return SniffOutcome(stats.packets, drops)

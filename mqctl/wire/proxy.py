"""`wire proxy`: a TCP proxy that forwards AMQP unchanged and shows its frames as they flow.

Forwarding runs on an asyncio event loop with protocol callbacks (no per-chunk coroutine): bytes a
side receives are written to the other side at once, TCP back-pressure is passed through by pausing
the reader whose peer cannot take more, a FIN is passed on as a FIN (half-close) and a reset as a
reset. Observation never holds forwarding up: every chunk is handed, as the immutable `bytes`
object the loop already has (no copy needed), to a `LiveTap` — a byte-bounded queue drained by one
decoder thread. When the decoder falls behind by more than the bound, chunks are dropped from the
*observation* (never from the traffic), the decoder sees a gap and resynchronises, and a warning
goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from mqctl.errors import PROXY_UPSTREAM_UNREACHABLE, BadInput, Unreachable

Address = tuple[bytes, int]  # packed IP address (4 or 16 bytes), port

DEFAULT_QUEUE_BYTES = 64 << 20
CONNECT_TIMEOUT = 10.0
FORWARDING_SWITCH_INTERVAL = 0.0005  # seconds; see TcpProxy.serve
_LINGER_RESET = struct.pack("ii", 1, 0)


# --- what the forwarder tells the decoder ----------------------------------------------------


class Opened(NamedTuple):
    ts: float
    conn: int
    client: Address
    server: Address


class Data(NamedTuple):
    ts: float
    conn: int
    from_client: bool
    data: bytes


class Dropped(NamedTuple):
    """Bytes that were forwarded but not observed (the decoder was too far behind)."""

    ts: float
    conn: int
    from_client: bool
    size: int


class Closed(NamedTuple):
    ts: float
    conn: int
    reason: str  # "closed", "reset by client", "reset by upstream", ...


LiveEvent = Opened | Data | Dropped | Closed


class LiveSink(Protocol):
    """Where observed traffic goes (the decoding pipeline, a pcap writer): called on one thread."""

    def handle(self, event: LiveEvent) -> None: ...

    def finish(self) -> None: ...


# --- settings --------------------------------------------------------------------------------


def parse_host_port(
    text: str, option: str, *, default_port: int | None = None, any_host: bool = False
) -> tuple[str, int]:
    """`HOST:PORT` or `[IPV6]:PORT` into its parts, or a BadInput naming the option.

    With `default_port`, a bare `HOST` takes it; with `any_host`, `:PORT` means every interface
    (host ""), as in most servers' listen options.
    """
    host, port_text = _split_host_port(text)
    if port_text is None and default_port is not None:
        port_text = str(default_port)
    if (
        port_text is None
        or not port_text.isdigit()
        or int(port_text) > 65535
        or (not host and not any_host)
    ):
        form = "[HOST]:PORT" if any_host else "HOST[:PORT]" if default_port else "HOST:PORT"
        example = "127.0.0.1:5673 or :5673" if any_host else "rabbit.internal:5672"
        raise BadInput(
            f"{option} {text!r} is not {form}",
            f"for example {option} {example} (IPv6 as [::1]:5673)",
        )
    return host, int(port_text)


def _split_host_port(text: str) -> tuple[str, str | None]:
    """`(host, port text or None)`; an IPv6 address needs brackets to carry a port."""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return "", "invalid"
        return inside, rest[1:] if rest else None
    if text.count(":") > 1:
        return text, None  # a bare IPv6 address
    host, sep, port_text = text.partition(":")
    return host, port_text if sep else None


@dataclass(frozen=True)
class ProxySettings:
    listen: tuple[str, int]
    upstream: tuple[str, int]
    upstream_tls: ssl.SSLContext | None = None
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    connect_timeout: float = CONNECT_TIMEOUT
    # Connect to upstream once at start and warn when it cannot be reached (the command does;
    # off by default because the check takes one accept() from a test's scripted upstream).
    check_upstream: bool = False


@dataclass
class ProxyStats:
    connections: int = 0  # every client accepted
    forwarded: int = 0  # of which reached upstream (the connections the frame summary counts)
    failed_connects: int = 0  # of which were closed because upstream could not be reached
    bytes_from_clients: int = 0
    bytes_from_upstream: int = 0
    dropped_bytes: int = 0  # forwarded but not observed
    dropped_chunks: int = 0
    by_close: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the end of a run, counting connections as the frame summary does."""
        parts = [f"{self.forwarded} connection(s) forwarded"]
        if self.failed_connects:
            parts.append(f"{self.failed_connects} refused because upstream was unreachable")
        gave_up = self.connections - self.forwarded - self.failed_connects
        if gave_up > 0:
            parts.append(f"{gave_up} closed by the client before upstream answered")
        parts.append(
            f"{self.bytes_from_clients} bytes from clients, "
            f"{self.bytes_from_upstream} bytes from upstream"
        )
        if self.dropped_bytes:
            parts.append(f"the output skipped {self.dropped_bytes} bytes")
        return "wire proxy: " + ", ".join(parts)


# --- the decoder thread ------------------------------------------------------------------------


_STOP = object()


class LiveTap:
    """A byte-bounded hand-off from the event loop to one consumer thread.

    `put` never blocks: it appends to a deque (thread-safe) when the bytes waiting are under the
    bound, and otherwise counts the chunk as dropped for its direction; the next chunk that fits is
    preceded by a `Dropped` event so the consumer knows exactly how much it missed. The two byte
    counters are each written by one thread only, so their difference needs no lock.

    The consumer is a function of an iterator of events (`start(consume)`), so the decoding side
    is the same iterator pipeline that `wire read` runs over a file.
    """

    def __init__(
        self, max_bytes: int = DEFAULT_QUEUE_BYTES, warn: Callable[[str], None] | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.warn = warn
        self.stats = ProxyStats()
        self._queue: deque[object] = deque()
        self._wake = threading.Event()
        self._put_bytes = 0  # written by the loop thread only
        self._taken_bytes = 0  # written by the consumer thread only
        self._missed: dict[tuple[int, bool], int] = {}
        self._last_warning = 0.0
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.done = False  # the consumer returned: drop everything from here on, silently

    def start(self, consume: Callable[[Iterator[LiveEvent]], None]) -> None:
        def run() -> None:
            try:
                consume(self.events())
            except BaseException as exc:  # forwarding goes on; the command reports it at the end
                self.error = exc
                if self.warn:
                    self.warn(
                        f"decoding stopped ({type(exc).__name__}: {exc}); forwarding continues"
                    )
            finally:
                self.done = True
                self._queue.clear()

        self._thread = threading.Thread(target=run, name="mqctl-wire-decoder", daemon=True)
        self._thread.start()

    def put(self, event: LiveEvent) -> None:
        if self.done:
            return
        if isinstance(event, Data):
            size = len(event.data)
            key = (event.conn, event.from_client)
            if self._put_bytes - self._taken_bytes + size > self.max_bytes:
                self._missed[key] = self._missed.get(key, 0) + size
                self.stats.dropped_bytes += size
                self.stats.dropped_chunks += 1
                self._warn_dropping(event.ts)
                return
            missed = self._missed.pop(key, 0) if self._missed else 0
            if missed:
                self._queue.append(Dropped(event.ts, event.conn, event.from_client, missed))
            self._put_bytes += size
        elif isinstance(event, Closed) and self._missed:
            for from_client in (True, False):  # announce what was skipped at the very end
                missed = self._missed.pop((event.conn, from_client), 0)
                if missed:
                    self._queue.append(Dropped(event.ts, event.conn, from_client, missed))
        self._queue.append(event)
        if not self._wake.is_set():  # set() takes a lock: skip it while the consumer is awake
            self._wake.set()

    def _warn_dropping(self, now: float) -> None:
        if self.warn and now - self._last_warning >= 1.0:
            self._last_warning = now
            self.warn(
                "the output cannot keep up with the traffic: frames are being skipped "
                f"({self.stats.dropped_bytes} bytes so far); forwarding continues unchanged"
            )

    def events(self) -> Iterator[LiveEvent]:
        """The events in order, waiting for more, until `close()`."""
        queue, wake = self._queue, self._wake
        while True:
            wake.wait()
            wake.clear()
            while queue:
                event = queue.popleft()
                if event is _STOP:
                    return
                if isinstance(event, Data):
                    self._taken_bytes += len(event.data)
                yield event  # type: ignore[misc]

    def close(self, timeout: float | None = None) -> None:
        """Let the consumer take what is queued, then end its iterator and wait for it."""
        self._queue.append(_STOP)
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


def drive(sink: LiveSink) -> Callable[[Iterator[LiveEvent]], None]:
    """A consumer that hands each event to `sink` and finishes it at the end."""

    def consume(events: Iterator[LiveEvent]) -> None:
        for event in events:
            sink.handle(event)
        sink.finish()

    return consume


# --- the forwarder ----------------------------------------------------------------------------


def _packed(peer: tuple[object, ...] | None) -> Address:
    if not peer:
        return b"\0\0\0\0", 0
    host = str(peer[0]).split("%", 1)[0]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.inet_pton(family, host), int(str(peer[1]))


def _same_family(a: Address, b: Address) -> tuple[Address, Address]:
    """A pcap flow needs one IP version: map an IPv4 end to ::ffff:a.b.c.d when the other is v6."""

    def v6(addr: Address) -> Address:
        return (b"\0" * 10 + b"\xff\xff" + addr[0], addr[1]) if len(addr[0]) == 4 else addr

    return (a, b) if len(a[0]) == len(b[0]) else (v6(a), v6(b))


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with an RST (SO_LINGER 0), passing a reset on to the other side."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()  # type: ignore[attr-defined]


def _reset_when_sent(transport: asyncio.Transport, waited: float = 0.0) -> None:
    """Reset once what is queued for this side has gone out: a direct connection would have
    delivered the data before the reset, so the proxy does too (waiting a second at most)."""
    if transport.is_closing():
        return
    if transport.get_write_buffer_size() and waited < 1.0:
        asyncio.get_running_loop().call_later(0.01, _reset_when_sent, transport, waited + 0.01)
        return
    _reset(transport)


def connect_failure(exc: BaseException, timeout: float) -> str:
    """Why a connect failed, in a few words: `Connection refused`, `no answer within 10s`."""
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


REFUSAL_LINGER = 2.0  # seconds a refused client gets to read the Connection.Close and leave


def _refuse_client(transport: asyncio.Transport, detail: str) -> None:
    """Tell an AMQP client, the protocol's own way, that upstream is unreachable.

    A Connection.Close (320 CONNECTION_FORCED) naming upstream, then a FIN; the client's bytes are
    read and dropped until it closes, so that no reset destroys the frame before it is read.
    """
    from mqctl.wire.encoder import encode_method  # the codec, only when a client is refused

    text = f"{PROXY_UPSTREAM_UNREACHABLE}: {detail}".encode()[:255].decode(errors="ignore")
    transport.write(
        encode_method(
            0, "Connection.Close", reply_code=320, reply_text=text, class_id=0, method_id=0
        )
    )
    if transport.can_write_eof():
        transport.write_eof()
    transport.resume_reading()
    asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.abort)


class _Side(asyncio.Protocol):
    """One socket of a proxied connection; `peer` is the other socket's side."""

    def __init__(self, conn: _Connection, from_client: bool) -> None:
        self.conn = conn
        self.from_client = from_client
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof = False
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.from_client:
            self.conn.client_connected(self)

    def data_received(self, data: bytes) -> None:
        if self.from_client and not self.conn.upstream_done:
            # Upstream is still connecting: keep the bytes, in order. Its transport may already
            # exist (connection_made runs a loop turn before the connect returns), but the bytes
            # held before must reach it first.
            self.conn.held.append(data)
            return
        peer = self.peer
        if peer is None or peer.transport is None or peer.lost:
            return
        peer.transport.write(data)
        self.conn.observed(self.from_client, data)

    def eof_received(self) -> bool:
        self.eof = True
        if self.from_client and not self.conn.upstream_done:
            return True  # passed on once upstream is there (after the held bytes)
        return self.conn.half_closed(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self, exc)

    def pause_writing(self) -> None:
        if self.peer and self.peer.transport and not self.peer.lost:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer and self.peer.transport and not self.peer.lost:
            self.peer.transport.resume_reading()


class _Connection:
    """A client connection and its upstream connection, forwarded both ways."""

    def __init__(self, proxy: TcpProxy, conn_id: int) -> None:
        self.proxy = proxy
        self.id = conn_id
        self.client = _Side(self, True)
        self.upstream = _Side(self, False)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.opened = False
        # The client's bytes that arrive before upstream is connected. pause_reading() in
        # connection_made() should prevent them, but Python 3.11.2 ignores it there (CPython
        # gh-103607), so they are held here instead of being lost.
        self.held: list[bytes] = []
        self.upstream_done = False  # the upstream connect finished (either way)
        self.closed = False
        self.reason = "closed"
        self.first_fin: str | None = None

    def client_connected(self, side: _Side) -> None:
        assert side.transport is not None
        side.transport.pause_reading()  # until upstream is there to take the bytes
        task = asyncio.get_running_loop().create_task(self._connect_upstream())
        self.proxy.tasks.add(task)
        task.add_done_callback(self.proxy.tasks.discard)

    async def _connect_upstream(self) -> None:
        settings = self.proxy.settings
        host, port = settings.upstream
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: self.upstream,
                    host,
                    port,
                    ssl=settings.upstream_tls,
                    server_hostname=host if settings.upstream_tls else None,
                ),
                settings.connect_timeout,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self.upstream_done = True
            self.held.clear()
            self.proxy.stats.failed_connects += 1
            reason = connect_failure(exc, settings.connect_timeout)
            where = show_address(host, port)
            self.proxy.warn(
                f"connection {self.id}: cannot reach upstream {where}: {reason}; "
                "the client is told so (Connection.Close 320)"
            )
            if self.client.transport is not None and not self.client.lost:
                _refuse_client(self.client.transport, f"{where} ({reason})")
            return
        self.upstream_done = True
        if self.client.lost:  # the client gave up while we connected
            self.held.clear()
            if self.upstream.transport is not None:
                self.upstream.transport.close()
            return
        assert self.client.transport is not None and self.upstream.transport is not None
        client, server = _same_family(
            _packed(self.client.transport.get_extra_info("peername")),
            _packed(self.upstream.transport.get_extra_info("peername")),
        )
        self.opened = True
        self.proxy.stats.forwarded += 1
        self.proxy.tap.put(Opened(time.time(), self.id, client, server))
        held, self.held = self.held, []
        for data in held:
            self.upstream.transport.write(data)
            self.observed(True, data)
        if self.client.eof:
            self.half_closed(self.client)
        self.client.transport.resume_reading()

    def observed(self, from_client: bool, data: bytes) -> None:
        stats = self.proxy.stats
        if from_client:
            stats.bytes_from_clients += len(data)
        else:
            stats.bytes_from_upstream += len(data)
        self.proxy.tap.put(Data(time.time(), self.id, from_client, data))

    def half_closed(self, side: _Side) -> bool:
        """A FIN from `side`: pass it on, and close both once both directions are done."""
        peer = side.peer
        assert peer is not None
        self.first_fin = self.first_fin or ("client" if side.from_client else "upstream")
        if peer.transport is None or peer.lost:
            return False
        if peer.transport.can_write_eof():
            try:
                peer.transport.write_eof()
            except OSError:
                # The peer was reset under us; its read side will report it (after any data
                # still queued there), and the reset is passed on then.
                return True
        else:
            peer.transport.close()  # TLS cannot half-close: close after the buffer is sent
        if peer.eof:
            self._close_both()
            return False
        # TLS transports ignore the return value; for TCP it keeps our write side open.
        return side.transport is not None and side.transport.get_extra_info("sslcontext") is None

    def side_lost(self, side: _Side, exc: Exception | None) -> None:
        peer = side.peer
        assert peer is not None
        if exc is not None and not self.closed:
            who = "client" if side.from_client else "upstream"
            self.reason = (
                f"reset by {who}"
                if isinstance(exc, ConnectionResetError)
                else f"{who} error: {exc or type(exc).__name__}"
            )
            if self.first_fin:  # RabbitMQ answers a client's FIN with an RST: say both
                self.reason = f"FIN from {self.first_fin}, then {self.reason}"
            if peer.transport is not None and not peer.lost:
                _reset_when_sent(peer.transport)
        elif peer.transport is not None and not peer.lost:
            peer.transport.close()
        if side.from_client and peer.transport is None:
            self._finish()  # upstream never came
        elif peer.lost or peer.transport is None:
            self._finish()

    def _close_both(self) -> None:
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                side.transport.close()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy.connections.pop(self.id, None)
        stats = self.proxy.stats
        stats.by_close[self.reason] = stats.by_close.get(self.reason, 0) + 1
        if self.opened:
            self.proxy.tap.put(Closed(time.time(), self.id, self.reason))

    def abort(self) -> None:
        self.reason = "proxy stopped"
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                side.transport.abort()


def show_address(host: str, port: int) -> str:
    """`host:port`, IPv6 in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class TcpProxy:
    """Listen, and forward every connection to upstream while `tap` observes the bytes.

    `serve()` runs the event loop on the calling thread until `shutdown()` (from any thread),
    SIGINT or SIGTERM (when on the main thread). `on_listening` gets the bound addresses.
    """

    def __init__(
        self,
        settings: ProxySettings,
        tap: LiveTap,
        warn: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.tap = tap
        self.stats = tap.stats
        self.warn = warn
        self.connections: dict[int, _Connection] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.interrupted = False

    async def _check_upstream(self) -> None:
        """Connect to upstream once at start, so that a wrong --upstream shows before a client."""
        settings = self.settings
        host, port = settings.upstream
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), settings.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            self.warn(
                f"upstream {show_address(host, port)} cannot be reached now "
                f"({connect_failure(exc, settings.connect_timeout)}); clients will be told so "
                "until it can"
            )
            return
        writer.close()  # a bare TCP check: no AMQP is spoken on it

    def _new_client(self) -> _Side:
        self._next_id += 1
        conn = _Connection(self, self._next_id)
        self.connections[conn.id] = conn
        self.stats.connections += 1
        return conn.client

    def serve(self, on_listening: Callable[[list[tuple[str, int]]], None] | None = None) -> None:
        # The decoder thread holds the GIL while it works; the event loop, woken by a socket,
        # waits for it up to the switch interval (5 ms by default) before it can forward. A
        # shorter interval bounds that added latency at a small cost in thread switches.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, FORWARDING_SWITCH_INTERVAL))
        try:
            asyncio.run(self._serve(on_listening))
        finally:
            sys.setswitchinterval(interval)

    def shutdown(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)

    def _interrupt(self) -> None:
        self.interrupted = True
        assert self._stop is not None
        self._stop.set()

    async def _serve(self, on_listening: Callable[[list[tuple[str, int]]], None] | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        host, port = self.settings.listen
        try:
            server = await self._loop.create_server(
                self._new_client, host, port, reuse_address=True, backlog=512
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise Unreachable(
                f"cannot listen on {show_address(host, port)}: {reason}",
                "pick a free port, or 127.0.0.1:0 for any",
            ) from None
        bound = [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in server.sockets]
        on_main = threading.current_thread() is threading.main_thread()
        if on_main:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._interrupt)
        try:
            if on_listening:
                on_listening(bound)
            if self.settings.check_upstream:
                check = self._loop.create_task(self._check_upstream())
                self.tasks.add(check)
                check.add_done_callback(self.tasks.discard)
            await self._stop.wait()
        finally:
            if on_main:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    self._loop.remove_signal_handler(sig)
            server.close()
            for conn in list(self.connections.values()):
                conn.abort()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.sleep(0)  # let connection_lost callbacks run
            await server.wait_closed()

"""One socket write per turn of pika's I/O loop, for all the frames produced in it.

pika's SelectConnection hands each frame to its transport on its own, and the transport sends
each with its own `send()`: three system calls per published message (method, header, body)
and one per ack, and as many TCP segments for the broker to read (profiled: a third of
`mqctl move`'s CPU time). `BatchingIOServices` is pika's own selector I/O services with one
change: the transport a connection writes to collects the frames of one loop turn and passes
them on joined, once the turn's callbacks are done (a timer due at once: pika runs the due
timers right after the socket events of the turn).

Frames keep their order and nothing is written that pika did not write; a frame still
collected when the connection goes is dropped with it, as pika's own send buffer is.

Everything here is pika's public interface: `SelectConnection(custom_ioloop=...)` takes any
`AbstractIOServices`, and the stream protocol and transport are its documented interfaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pika.adapters.select_connection import IOLoop
from pika.adapters.utils.nbio_interface import AbstractStreamProtocol, AbstractStreamTransport
from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter


class BatchingIOServices(SelectorIOServicesAdapter):  # type: ignore[misc]
    """pika's I/O services on a new IOLoop, with transports that write once per loop turn.

    Pass it as `custom_ioloop` to each `pika.SelectConnection` that should share the loop."""

    def __init__(self) -> None:
        super().__init__(IOLoop())

    def create_streaming_connection(
        self,
        protocol_factory: Callable[[], AbstractStreamProtocol],
        sock: Any,
        on_done: Callable[[Any], None],
        ssl_context: Any = None,
        server_hostname: str | None = None,
    ) -> Any:
        return super().create_streaming_connection(
            lambda: _BatchingProtocol(protocol_factory(), self),
            sock,
            on_done,
            ssl_context=ssl_context,
            server_hostname=server_hostname,
        )


class _BatchingProtocol(AbstractStreamProtocol):  # type: ignore[misc]
    """The connection's protocol, handed a `BatchingTransport` instead of the socket's own.

    Everything else is the connection's: attributes not defined here are looked up on it (the
    connection workflow treats the protocol it gets back as the connection)."""

    def __init__(self, inner: AbstractStreamProtocol, services: BatchingIOServices) -> None:
        self._inner = inner
        self._services = services
        self._transport: BatchingTransport | None = None

    def connection_made(self, transport: AbstractStreamTransport) -> None:
        self._transport = BatchingTransport(transport, self._services)
        self._inner.connection_made(self._transport)

    def connection_lost(self, error: BaseException | None) -> None:
        if self._transport is not None:
            self._transport.drop()
        self._inner.connection_lost(error)

    def eof_received(self) -> Any:
        return self._inner.eof_received()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BatchingTransport(AbstractStreamTransport):  # type: ignore[misc]
    """Collects the writes of one loop turn and passes them on as one."""

    def __init__(self, transport: AbstractStreamTransport, services: BatchingIOServices) -> None:
        self._transport = transport
        self._services = services
        self._pending: list[bytes] = []
        self._timer: Any = None

    def write(self, data: bytes) -> None:
        pending = self._pending
        if not pending:
            self._timer = self._services.call_later(0, self.flush)
        pending.append(data)

    def flush(self) -> None:
        """Pass what was collected on to the socket's transport now."""
        self._timer = None
        pending, self._pending = self._pending, []
        if pending:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def drop(self) -> None:
        """The connection went: what was collected goes with it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = []

    def abort(self) -> None:
        self.drop()
        self._transport.abort()

    def get_protocol(self) -> AbstractStreamProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        pending = sum(len(data) for data in self._pending)
        return int(self._transport.get_write_buffer_size()) + pending

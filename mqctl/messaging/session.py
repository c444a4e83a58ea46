"""One asynchronous pika connection and channel, driven to completion: the base of publish/consume.

pika's BlockingConnection waits for each publisher confirm in turn; the SelectConnection lets a
window of them be outstanding. This class owns the callbacks every such session needs (open,
open error, connection and channel closed by the broker, Ctrl-C) and turns failures into mqctl
errors, so subclasses only say what to do once the channel is open.

With a `Failover`, a connection lost under the session (a node stopping, a network cut) is
opened again, on the same node or the next one given, and the subclass starts over on the new
channel after `on_connection_lost` has let go of everything that belonged to the old one.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pika
import pika.channel
import pika.exceptions

from mqctl.amqp_connection import channel_error, connection_error, connection_parameters
from mqctl.config import ConnectionSettings
from mqctl.errors import MqctlError
from mqctl.messaging.failover import Failover, may_reconnect
from mqctl.messaging.signals import SIGNAL_NAMES, stop_requests

SHUTDOWN_GRACE = 5.0  # seconds to close cleanly after Ctrl-C before giving up


class AsyncSession:
    """Subclasses implement `start(channel)` and call `finish()` when done."""

    doing = "the AMQP session"  # what the channel was doing, for error messages
    hints: ClassVar[
        dict[int, str]
    ] = {}  # reply code -> what to do, where it differs from the generic hint

    def __init__(self, settings: ConnectionSettings, failover: Failover | None = None) -> None:
        self.settings = settings
        self.failover = failover
        self.error: MqctlError | None = None
        self.interrupted = False
        self.signal: str | None = None  # what interrupted: Ctrl-C or SIGTERM
        self.connection: pika.SelectConnection | None = None
        self.channel: pika.channel.Channel | None = None
        self.reconnects = 0  # connections opened again after a loss
        self._closing = False
        self._lost: MqctlError | None = None  # why the connection went, when another may work
        self._connected_to: ConnectionSettings | None = None  # the last node a channel opened on
        self._connected = False  # the current connection got as far as an open channel
        self._attempt = 0  # connection attempts since the last loss
        self._lost_at = 0.0

    # --- to override ---

    def start(self, channel: pika.channel.Channel) -> None:
        raise NotImplementedError

    def on_interrupt(self) -> None:
        """Ctrl-C arrived; settle what can be settled before the connection closes."""

    def on_stop_request(self) -> None:
        """The first Ctrl-C or SIGTERM, run on the I/O loop: by default, close."""
        self.finish()

    def on_connection_lost(self) -> None:
        """The connection is gone and another will be tried: let go of what belonged to it."""

    def wants_reconnect(self) -> bool:
        """Whether there is still work that another connection should do."""
        return True

    def reconnected_note(self) -> str:
        """What the line saying that the session reconnected adds (what is done again)."""
        return ""

    def _on_stop_signal(self, signum: int) -> None:
        self.interrupted = True
        self.signal = SIGNAL_NAMES.get(signum, str(signum))
        self.call_threadsafe(self.on_stop_request)

    def call_threadsafe(self, callback: Any) -> None:
        """Run `callback` on the current connection's I/O loop, from any thread (or a signal
        handler); between two connections there is no loop, and nothing to do."""
        connection = self.connection
        if connection is not None and not self._lost:
            connection.ioloop.add_callback_threadsafe(callback)

    # --- driving ---

    def run(self) -> None:
        """Connect, run until `finish()` or a failure; Ctrl-C sets `interrupted` and closes.

        With a failover, a lost connection is opened again (same node or the next) until the
        work is done or the attempts run out."""
        try:
            with stop_requests(self._on_stop_signal):
                self._run_connection()
                while self._next_attempt():
                    self._run_connection()
        except KeyboardInterrupt:
            self.interrupted = True
            self._shutdown_after_interrupt()

    def _run_connection(self) -> None:
        self._closing = False
        self.channel = None
        connection = pika.SelectConnection(
            connection_parameters(self.settings),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_connection_closed,
        )
        self.connection = connection
        self._lost = None
        connection.ioloop.start()

    def _next_attempt(self) -> bool:
        """After a lost connection: say so, wait, and point at the node to try; False to stop."""
        lost, failover = self._lost, self.failover
        if lost is None or failover is None or self.interrupted or not self.wants_reconnect():
            return False
        if self._connected:
            self._connected = False
            self._attempt = 0
            self._lost_at = time.monotonic()
            self.on_connection_lost()
        if self._attempt >= failover.attempts:
            waited = time.monotonic() - self._lost_at
            lost.message += (
                f" (gave up reconnecting after {self._attempt} attempts in {waited:.0f} s)"
            )
            return False
        self._attempt += 1
        assert self._connected_to is not None
        node = failover.node(self._connected_to, self._attempt)
        delay = failover.delay(self._attempt)
        failover.notify(
            f"{lost.message}: reconnecting to {node.address} in {delay:g} s "
            f"(attempt {self._attempt} of {failover.attempts})"
        )
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self.interrupted:  # Ctrl-C or SIGTERM while waiting
                return False
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
        self.settings, self.error = node, None
        return True

    def finish(self) -> None:
        """Close the connection (unacked deliveries go back to their queues); the loop then ends."""
        if self._closing or self.connection is None:
            return
        self._closing = True
        if self.connection.is_open:
            self.connection.close()
        elif not self.connection.is_closing:
            self.connection.ioloop.stop()

    def fail(self, error: MqctlError) -> None:
        if self.error is None:
            self.error = error
        self.finish()

    def call_later(self, delay: float, callback: Any) -> Any:
        assert self.connection is not None
        return self.connection.ioloop.call_later(delay, callback)

    # --- pika callbacks ---

    def _on_open(self, connection: pika.SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_open_error(self, connection: pika.SelectConnection, exc: BaseException) -> None:
        self.error = connection_error(exc, self.settings)
        # Only a connection that worked before is tried again: a first one that fails says why.
        if self._connected_to is not None and may_reconnect(self.error):
            self._lost = self.error
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: pika.SelectConnection, reason: Any) -> None:
        if not self._closing and self.error is None:
            self._connection_lost(reason)
        connection.ioloop.stop()

    def _connection_lost(self, reason: Any) -> None:
        error = connection_error(reason, self.settings)
        if self.failover is not None and self.error is None and may_reconnect(error):
            self._lost = error
        self.fail(error)

    def _on_channel_open(self, channel: pika.channel.Channel) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        if self._connected_to is not None and self.failover is not None:
            self.reconnects += 1
            self.failover.notify(f"reconnected to {self.settings.address}{self.reconnected_note()}")
        self._connected, self._connected_to = True, self.settings
        self.start(channel)

    def _on_channel_closed(self, channel: pika.channel.Channel, reason: Any) -> None:
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            self.fail(channel_error(reason, self.doing, self.hints))
        elif self._closing or isinstance(reason, pika.exceptions.ChannelClosedByClient):
            self.finish()
        else:  # the connection went away under the channel
            self._connection_lost(reason)

    def _shutdown_after_interrupt(self) -> None:
        connection = self.connection
        if connection is None:
            return
        try:
            self.on_interrupt()
            self._closing = True
            if connection.is_open:
                connection.close()
                connection.ioloop.call_later(SHUTDOWN_GRACE, connection.ioloop.stop)
                connection.ioloop.start()
        except Exception:  # pika's state after an interrupt is unknown
            # Whatever is unacked is requeued by the broker when the socket goes away.
            pass

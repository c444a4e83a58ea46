"""One asynchronous pika connection and channel, driven to completion: the base of publish/consume.

pika's BlockingConnection waits for each publisher confirm in turn; the SelectConnection lets a
window of them be outstanding. This class owns the callbacks every such session needs (open,
open error, connection and channel closed by the broker, Ctrl-C) and turns failures into mqctl
errors, so subclasses only say what to do once the channel is open.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pika
import pika.channel
import pika.exceptions

from mqctl.amqp_connection import channel_error, connection_error, connection_parameters
from mqctl.config import ConnectionSettings
from mqctl.errors import MqctlError
from mqctl.messaging.signals import SIGNAL_NAMES, stop_requests

SHUTDOWN_GRACE = 5.0  # seconds to close cleanly after Ctrl-C before giving up


class AsyncSession:
    """Subclasses implement `start(channel)` and call `finish()` when done."""

    doing = "the AMQP session"  # what the channel was doing, for error messages
    hints: ClassVar[
        dict[int, str]
    ] = {}  # reply code -> what to do, where it differs from the generic hint

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.error: MqctlError | None = None
        self.interrupted = False
        self.signal: str | None = None  # what interrupted: Ctrl-C or SIGTERM
        self.connection: pika.SelectConnection | None = None
        self.channel: pika.channel.Channel | None = None
        self._closing = False

    # --- to override ---

    def start(self, channel: pika.channel.Channel) -> None:
        raise NotImplementedError

    def on_interrupt(self) -> None:
        """Ctrl-C arrived; settle what can be settled before the connection closes."""

    def on_stop_request(self) -> None:
        """The first Ctrl-C or SIGTERM, run on the I/O loop: by default, close."""
        self.finish()

    def _on_stop_signal(self, signum: int) -> None:
        self.interrupted = True
        self.signal = SIGNAL_NAMES.get(signum, str(signum))
        if self.connection is not None:
            self.connection.ioloop.add_callback_threadsafe(self.on_stop_request)

    # --- driving ---

    def run(self) -> None:
        """Connect, run until `finish()` or a failure; Ctrl-C sets `interrupted` and closes."""
        self.connection = pika.SelectConnection(
            connection_parameters(self.settings),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_connection_closed,
        )
        try:
            with stop_requests(self._on_stop_signal):
                self.connection.ioloop.start()
        except KeyboardInterrupt:
            self.interrupted = True
            self._shutdown_after_interrupt()

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
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: pika.SelectConnection, reason: Any) -> None:
        if not self._closing and self.error is None:
            self.error = connection_error(reason, self.settings)
        connection.ioloop.stop()

    def _on_channel_open(self, channel: pika.channel.Channel) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        self.start(channel)

    def _on_channel_closed(self, channel: pika.channel.Channel, reason: Any) -> None:
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            self.fail(channel_error(reason, self.doing, self.hints))
        elif self._closing or isinstance(reason, pika.exceptions.ChannelClosedByClient):
            self.finish()
        else:  # the connection went away under the channel
            self.fail(connection_error(reason, self.settings))

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

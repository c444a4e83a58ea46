"""Publishing with a pipelined window of publisher confirms.

Up to `window` messages are outstanding at once; each Basic.Ack / Basic.Nack (often `multiple`)
frees room for more, so the broker's confirms stream back while messages stream out instead of one
round trip per message. Mandatory returns are counted by reply code and text.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pika.channel
import pika.frame
import pika.spec

from mqctl.config import ConnectionSettings
from mqctl.errors import MqctlError
from mqctl.messaging.choices import DEFAULT_WINDOW
from mqctl.messaging.failover import Failover
from mqctl.messaging.feed import EMPTY, END, InputFeed
from mqctl.messaging.message import OutgoingMessage
from mqctl.messaging.session import SHUTDOWN_GRACE, AsyncSession

BURST = 500  # messages queued per loop turn without confirms, so that the socket gets written
MAX_BUFFERED = 8 * 1024 * 1024  # bytes waiting in pika's output buffer before we pause


@dataclass(frozen=True)
class PublishOptions:
    confirm: bool = True
    mandatory: bool = False
    window: int = DEFAULT_WINDOW
    rate: float | None = None  # messages per second


@dataclass
class PublishResult:
    total: int  # with an input feed: the messages read so far
    confirms: bool
    sent: int = 0
    confirmed: int = 0
    nacked: int = 0
    returned: Counter[tuple[int, str]] = field(default_factory=Counter)
    interrupted: bool = False
    signal: str | None = None  # what interrupted: Ctrl-C or SIGTERM
    lines_read: int | None = None  # --input: lines read from the input
    error: MqctlError | None = None  # what stopped it (the counts say how far it got)
    reconnects: int = 0  # connections opened again after a loss
    republished: int = 0  # sent again on a new connection, unconfirmed on the lost one

    @property
    def returned_count(self) -> int:
        return sum(self.returned.values())

    @property
    def unconfirmed(self) -> int:
        return self.sent - self.confirmed - self.nacked if self.confirms else 0


class Repeated(Sequence[OutgoingMessage]):
    """The same message `count` times, without a list of `count` references."""

    def __init__(self, message: OutgoingMessage, count: int) -> None:
        self.message, self.times = message, count

    def __len__(self) -> int:
        return self.times

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.message] * len(range(*index.indices(self.times)))
        if not -self.times <= index < self.times:
            raise IndexError(index)
        return self.message


class Publisher(AsyncSession):
    hints: ClassVar[dict[int, str]] = {
        406: "check the message's properties (user_id must be the connected user)",
    }

    def __init__(
        self,
        settings: ConnectionSettings,
        messages: Sequence[OutgoingMessage] | InputFeed,
        options: PublishOptions,
        exchanges: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
        failover: Failover | None = None,
    ) -> None:
        super().__init__(settings, failover)
        self.feed = messages if isinstance(messages, InputFeed) else None
        self.messages: Sequence[OutgoingMessage] = [] if self.feed else messages  # type: ignore[assignment]
        self.options = options
        self.exchanges = [name for name in dict.fromkeys(exchanges) if name]
        self._checked = {"", *self.exchanges}
        self.progress = progress or (lambda steps: None)
        self.result = PublishResult(
            total=0 if self.feed else len(self.messages), confirms=options.confirm
        )
        self._next: OutgoingMessage | None = None  # taken from the feed, not yet sent
        self.doing = "publishing"
        # Sent on this channel and not yet confirmed: (delivery tag, message), oldest first.
        self._outstanding: deque[tuple[int, OutgoingMessage]] = deque()
        self._tag = 0  # the last delivery tag of this channel
        self._again: deque[OutgoingMessage] = deque()  # unconfirmed on a lost connection
        self._feeding = False
        self._started = 0.0
        self._paced = 0  # messages published on this channel, for --rate
        self._wakeup_pending = False
        self._draining = False
        self._stopped = False  # a stop signal: send no more
        self._checking = False

    def publish(self) -> PublishResult:
        self.run()
        self.result.interrupted = self.interrupted
        self.result.signal = self.signal
        self.result.reconnects = self.reconnects
        if self.feed is not None:
            self.result.lines_read = self.feed.lines_read
        return self.result

    def on_stop_request(self) -> None:
        """Send no more; wait a moment for the confirms on their way, then close."""
        self._stopped = True
        self.call_later(SHUTDOWN_GRACE, self.finish)
        self._maybe_done()

    def on_connection_lost(self) -> None:
        """What the lost channel never confirmed goes out again first, in its order: it may
        have reached the broker, so each may become a duplicate."""
        unconfirmed = [message for _, message in self._outstanding]
        self._again.extendleft(reversed(unconfirmed))
        self._outstanding.clear()
        self._wakeup_pending = self._checking = self._draining = False

    def wants_reconnect(self) -> bool:
        return not self._stopped

    def reconnected_note(self) -> str:
        if not self._again:
            return ""
        return (
            f"; publishing again the {len(self._again)} message(s) the lost connection had not "
            "confirmed: they may be duplicates"
        )

    def start(self, channel: pika.channel.Channel) -> None:
        self._tag = 0
        channel.add_on_return_callback(self._on_return)
        self._check_exchanges(channel, list(self.exchanges))

    def _check_exchanges(self, channel: pika.channel.Channel, names: list[str]) -> None:
        # A passive declare first: an unknown exchange is reported before anything is published.
        if names:
            name = names.pop(0)
            self.doing = f"checking exchange {name!r}"
            channel.exchange_declare(
                name, passive=True, callback=lambda _: self._check_exchanges(channel, names)
            )
            return
        self.doing = "publishing"
        if self.options.confirm:
            channel.confirm_delivery(self._on_confirm, callback=lambda _: self._begin())
        else:
            self._begin()

    def _begin(self) -> None:
        self._started, self._paced = time.monotonic(), 0
        if self.feed is not None and not self._feeding:
            self._feeding = True  # one reader for every connection
            self.feed.start(lambda: self.call_threadsafe(self._publish_more))
        self._publish_more()

    def _has_more(self) -> bool:
        if self._stopped:
            return False
        if self._again:
            return True
        if self.feed is None:
            return self.result.sent < self.result.total
        return self._next is not None or not self.feed.ended

    def _take(self) -> OutgoingMessage | None:
        """The next message to send, or None for now (the feed wakes us, or it ended)."""
        if self._again:
            return self._again[0]
        if self.feed is None:
            return self.messages[self.result.sent]
        if self._next is None:
            item = self.feed.take()
            if item is EMPTY or item is END:
                return None
            self._next = item
            self.result.total += 1
        message = self._next
        if message.exchange not in self._checked:
            self._check_exchange(message.exchange)
            return None
        return message

    def _sent(self) -> None:
        """The message `_take` gave was published: count it (once, however often it went)."""
        if self._again:
            self._again.popleft()
            self.result.republished += 1
            return
        self._next = None
        self.result.sent += 1

    def _check_exchange(self, name: str) -> None:
        # A line's own exchange, checked before its first message goes out: an unknown one
        # fails the command (404) instead of having the broker close the channel mid-stream.
        if self._checking:
            return
        self._checking = True
        self.doing = f"checking exchange {name!r}"
        assert self.channel is not None

        def checked(_frame: Any) -> None:
            self._checking = False
            self._checked.add(name)
            self.doing = "publishing"
            self._publish_more()

        self.channel.exchange_declare(name, passive=True, callback=checked)

    def _publish_more(self) -> None:
        self._wakeup_pending = False
        channel, result, options = self.channel, self.result, self.options
        if channel is None or not channel.is_open or self._checking:
            return
        burst = options.window if options.confirm else BURST
        sent_before, published = result.sent, 0
        while self._has_more():
            if options.confirm and len(self._outstanding) >= options.window:
                break
            if published >= burst or self._buffered() > MAX_BUFFERED:
                self._wake_in(0.0005 if self._buffered() > MAX_BUFFERED else 0)
                break
            if options.rate:
                due = self._started + self._paced / options.rate
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake_in(delay)
                    break
            message = self._take()
            if message is None:
                break
            channel.basic_publish(
                message.exchange,
                message.routing_key,
                message.body,
                message.properties,
                mandatory=options.mandatory,
            )
            self._sent()
            published += 1
            self._paced += 1
            if options.confirm:
                self._tag += 1
                self._outstanding.append((self._tag, message))
        if not options.confirm and result.sent > sent_before:
            self.progress(result.sent - sent_before)
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self._has_more() or self._draining or self._checking:
            return
        if self.options.confirm:
            if not self._outstanding:
                self.finish()
            return
        # Without confirms, one synchronous round trip proves the broker has routed (and
        # returned) everything sent before it: the channel handles commands in order.
        self._draining = True
        assert self.channel is not None
        if not self.channel.is_open:
            return self.finish()
        self.channel.basic_qos(prefetch_count=0, callback=lambda _: self.finish())

    def _wake_in(self, delay: float) -> None:
        if not self._wakeup_pending:
            self._wakeup_pending = True
            self.call_later(delay, self._publish_more)

    def _buffered(self) -> int:
        size = getattr(self.connection, "_get_write_buffer_size", None)
        return int(size()) if callable(size) else 0

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tag, outstanding = method.delivery_tag, self._outstanding
        settled = 0
        if method.multiple:
            while outstanding and outstanding[0][0] <= tag:
                outstanding.popleft()
                settled += 1
        elif outstanding and outstanding[0][0] == tag:
            outstanding.popleft()
            settled = 1
        else:
            for index, (sent_tag, _) in enumerate(outstanding):
                if sent_tag == tag:
                    del outstanding[index]
                    settled = 1
                    break
        if isinstance(method, pika.spec.Basic.Nack):
            self.result.nacked += settled
        else:
            self.result.confirmed += settled
        self.progress(settled)
        if self._has_more():
            if not self._wakeup_pending:
                self._publish_more()
        else:
            self._maybe_done()

    def _on_return(
        self,
        channel: pika.channel.Channel,
        method: pika.spec.Basic.Return,
        properties: pika.spec.BasicProperties,
        body: bytes,
    ) -> None:
        self.result.returned[(method.reply_code, method.reply_text)] += 1


def publish(
    settings: ConnectionSettings,
    messages: Sequence[OutgoingMessage] | InputFeed,
    options: PublishOptions,
    progress: Callable[[int], None] | None = None,
    failover: Failover | None = None,
) -> PublishResult:
    """Publish `messages` and wait for their confirms.

    With `failover`, a lost connection is opened again (see `mqctl.messaging.failover`) and
    what the lost one had not confirmed is published again, counted in `result.republished`.

    A refusal, a lost connection or bad input in a feed ends up in `result.error`, its message
    saying how far it got (messages sent and confirmed, lines read), so that the user knows
    which messages are safe; bad input in a feed stops it after the messages before it were
    published and confirmed.
    """
    if isinstance(messages, InputFeed):
        exchanges = [messages.overrides.exchange or ""]
    else:
        exchanges = sorted({m.exchange for m in _distinct(messages)})
    publisher = Publisher(settings, messages, options, exchanges, progress, failover)
    result = publisher.publish()
    error = publisher.error or (publisher.feed.error if publisher.feed else None)
    if error is not None and (result.sent or result.lines_read is not None):
        error.message += f" ({progress_text(result)})"
    result.error = error
    return result


def progress_text(result: PublishResult) -> str:
    """How far a publish got: what the user needs to know which messages are safe."""
    parts = []
    if result.lines_read is not None:
        parts.append(f"{result.lines_read} line(s) read")
    parts.append(f"{result.sent} sent")
    if result.confirms:
        parts.append(f"{result.confirmed} confirmed")
        if result.unconfirmed:
            parts.append(f"{result.unconfirmed} unconfirmed")
    if result.reconnects:
        parts.append(republished_text(result))
    return ", ".join(parts)


def republished_text(result: PublishResult) -> str:
    """After reconnections: how many messages went out twice, which may be duplicates."""
    again = f"republished {result.republished} (may be duplicates)" if result.republished else ""
    return f"reconnected {result.reconnects}" + (f", {again}" if again else "")


def _distinct(messages: Sequence[OutgoingMessage]) -> Sequence[OutgoingMessage]:
    return [messages[0]] if isinstance(messages, Repeated) and len(messages) else messages

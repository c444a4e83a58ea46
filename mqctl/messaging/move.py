"""Moving messages out of a queue, each acked at the source only once the destination confirmed it.

The shovel's `ack-mode: on-confirm`, done by one process: a consumer on the source queue with a
prefetch window, publisher confirms and `mandatory` on the destination. A source delivery is
acked only when the destination's Basic.Ack for its copy arrived and no Basic.Return preceded
it; a copy that is returned, nacked or never confirmed leaves its original unacked, and the
broker puts it back in the source queue when mqctl lets go of it. Whatever stops the move
(Ctrl-C, a lost connection, a refusal) leaves each message in the source or at the destination,
and some possibly in both (at-least-once, never less).

Properties go across as the bytes they arrived as (`ForwardedProperties`), so headers of every
field type, and property values no decoder would reproduce, are republished exactly.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pika
import pika.channel
import pika.exceptions
import pika.frame
import pika.spec

from mqctl.amqp_connection import channel_error, connection_error, connection_parameters
from mqctl.config import ConnectionSettings
from mqctl.errors import BadInput, BrokerError, MqctlError
from mqctl.messaging.batching import BatchingIOServices
from mqctl.messaging.codec import TypedBasicProperties
from mqctl.messaging.looks import look_cost
from mqctl.messaging.match import MessageMatch
from mqctl.messaging.signals import SIGNAL_NAMES, stop_requests

DEFAULT_WINDOW = 1000  # deliveries (and so confirms) in flight at once
CONFIRM_TIMEOUT = 30.0  # seconds to wait, at the end, for the last confirms
IDLE_TIMEOUT = 2.0  # seconds without a delivery before the queue counts as drained
INTERRUPT_GRACE = 5.0  # seconds after Ctrl-C to collect the confirms already on their way
CHECK_INTERVAL = 0.25


class ForwardedProperties(TypedBasicProperties):
    """Properties decoded as usual, and encoded again as the very bytes they came in as."""

    _raw: bytes | None = None

    def decode(self, encoded: bytes, offset: int = 0) -> ForwardedProperties:
        self._raw = bytes(encoded[offset:])
        super().decode(encoded, offset)
        return self

    def encode(self) -> list[bytes]:
        return [self._raw] if self._raw is not None else super().encode()


class ForwardedUnread(ForwardedProperties):
    """For a move that reads no property but `user_id` (which the destination checks against
    its user): the bytes are kept, and decoded only when they carry a user_id. Every other
    property reads as unset: a move to a queue or an exchange without --match reads none."""

    def decode(self, encoded: bytes, offset: int = 0) -> ForwardedProperties:
        flags = int.from_bytes(encoded[offset : offset + 2], "big")
        if flags & pika.spec.BasicProperties.FLAG_USER_ID:
            return super().decode(encoded, offset)
        self._raw = bytes(encoded[offset:])
        return self


@contextmanager
def forwarding(read_properties: bool = True) -> Iterator[None]:
    """Within the block, pika builds `ForwardedProperties` for every incoming content header
    of this process (`ForwardedUnread` when the properties are not read: less work per
    message); the decoder that was there before is put back afterwards."""
    index = pika.spec.BasicProperties.INDEX
    previous = pika.spec.props[index]
    pika.spec.props[index] = ForwardedProperties if read_properties else ForwardedUnread
    try:
        yield
    finally:
        pika.spec.props[index] = previous


# --- what to move where ----------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Exactly one of: a queue (through the default exchange), an exchange, or each origin."""

    queue: str | None = None
    exchange: str | None = None
    routing_key: str | None = None  # with `exchange`; None: each message's own routing key
    origin: bool = False  # the exchange and routing key of each message's first x-death entry
    settings: ConnectionSettings | None = None  # another broker; None: the source's

    def validate(self, source_queue: str, same_broker: bool) -> None:
        chosen = [
            name
            for name, given in (
                ("--to-queue", self.queue is not None),
                ("--to-exchange", self.exchange is not None),
                ("--to-origin", self.origin),
            )
            if given
        ]
        if len(chosen) != 1:
            raise BadInput(
                "give exactly one of --to-queue, --to-exchange and --to-origin"
                + (f" (got {' and '.join(chosen)})" if chosen else ""),
                "e.g. mqctl move orders.dlq --to-origin",
            )
        if self.routing_key is not None and self.exchange is None:
            raise BadInput("--routing-key goes with --to-exchange", "e.g. --to-exchange X -k KEY")
        if same_broker and self.queue == source_queue:
            raise BadInput(
                f"queue {source_queue!r} is both the source and the destination",
                "give another --to-queue",
            )

    @property
    def description(self) -> str:
        if self.queue is not None:
            return f"queue {self.queue!r}"
        if self.exchange is not None:
            key = self.routing_key
            return f"exchange {self.exchange!r}" + (
                f" with routing key {key!r}" if key is not None else " (each message's own key)"
            )
        return "each message's origin (first x-death entry)"


class Left(StrEnum):
    """Why a message stayed in the source queue."""

    returned = "returned unroutable"
    nacked = "nacked by the destination"
    unconfirmed = "not confirmed"
    no_origin = "no x-death header"
    origin_missing = "origin exchange missing"
    user_id = "user_id is not the publishing user"
    unacked = "copied but not acked (also at the destination)"
    not_reached = "not reached"


@dataclass(frozen=True)
class MoveOptions:
    count: int | None = None  # at most this many; None: what the queue holds when the move starts
    dry_run: bool = False  # route and count, then put everything back
    window: int = DEFAULT_WINDOW
    match: MessageMatch | None = None  # only messages it accepts; the others stay
    confirm_timeout: float = CONFIRM_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT


@dataclass
class MoveResult:
    queue: str
    destination: str
    dry_run: bool
    asked: int = 0  # min(--count, the queue's depth at the start)
    taken: int = 0  # deliveries looked at
    moved: int = 0  # confirmed by the destination and acked at the source (dry run: would be)
    routes: Counter[tuple[str, str]] = field(default_factory=Counter)
    left: Counter[Left] = field(default_factory=Counter)
    not_matching: int = 0
    returned_texts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    signal: str | None = None  # what interrupted: Ctrl-C or SIGTERM
    drained_early: bool = False  # the queue ran dry before `asked` (other consumers, TTL)
    maybe_duplicated: int = 0  # sent but unconfirmed: in the source, maybe at the destination
    source_lost: bool = False  # the source connection broke: its last acks may not have arrived
    window: int = DEFAULT_WINDOW  # bounds the acks that a broken connection may have lost
    error: MqctlError | None = None

    @property
    def left_total(self) -> int:
        return sum(self.left.values())

    @property
    def complete(self) -> bool:
        """Everything asked for moved (the exit status 0 of `mqctl move`)."""
        wanted = self.asked - self.not_matching
        return self.error is None and not self.interrupted and self.moved >= wanted


# --- routing ---------------------------------------------------------------------------------


def origin_of(headers: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The exchange and first routing key of the first x-death entry, or None without one."""
    deaths = (headers or {}).get("x-death")
    if not isinstance(deaths, Sequence) or isinstance(deaths, str | bytes) or not deaths:
        return None
    first = deaths[0]
    if not isinstance(first, Mapping):
        return None
    exchange = _text(first.get("exchange"))
    keys = first.get("routing-keys")
    if exchange is None or not isinstance(keys, Sequence) or isinstance(keys, str | bytes):
        return None
    key = _text(keys[0]) if keys else ""
    return (exchange, key) if key is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _one_route(destination: Destination) -> tuple[str, str] | None:
    """The route of every message when it does not depend on the message, else None."""
    if destination.queue is not None:
        return "", destination.queue
    if destination.exchange is not None and destination.routing_key is not None:
        return destination.exchange, destination.routing_key
    return None


def route(
    destination: Destination, routing_key: str, headers: Mapping[str, Any] | None
) -> tuple[str, str] | Left:
    """Where one message goes: (exchange, routing key), or why it stays."""
    if destination.queue is not None:
        return "", destination.queue
    if destination.exchange is not None:
        key = destination.routing_key
        return destination.exchange, routing_key if key is None else key
    return origin_of(headers) or Left.no_origin


# --- the engine ------------------------------------------------------------------------------


# A copy sent and not yet confirmed: (publish sequence number, source delivery tag, route, body,
# properties); a plain tuple, one per message, the cheapest record to make.
_Flight = tuple[int, int, tuple[str, str], bytes, Any]
_Waiting = tuple[int, tuple[str, str], bytes, Any]  # a delivery waiting for its exchange check


class Mover:
    """Drives the source and destination channels on one pika I/O loop.

    Source deliveries are taken under a prefetch window; each is published to its route with
    `mandatory`, and acked (`multiple` while nothing is held back) once its copy is confirmed.
    A delivery that stays (no route, not matching, returned, nacked) is held unacked until
    the end, when one nack with requeue puts all of them back; when held deliveries fill the
    window, the consumer is replaced by a new one with a fresh window.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        queue: str,
        destination: Destination,
        options: MoveOptions,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.destination = destination
        self.options = options
        self.progress = progress or (lambda moved: None)
        self.result = MoveResult(
            queue, destination.description, options.dry_run, window=options.window
        )
        self.doing = f"opening queue {queue!r}"
        self._publisher_user = (destination.settings or settings).username
        self._ioloop: Any = None
        self._connections: list[pika.SelectConnection] = []
        self._source: pika.channel.Channel | None = None
        self._publish: pika.channel.Channel | None = None
        self._probe: pika.channel.Channel | None = None
        self._consuming = False  # a consumer was started at least once
        self._stopping = False  # take no more deliveries
        self._closing = False
        # the current consumer and its window
        self._consumer_tag: str | None = None
        self._last_tag = 0
        self._first_tag = 1  # delivery tags below belong to consumers already cancelled
        self._base = 0  # `taken` when the current consumer started
        self._prefetch = 0
        self._acked_here = 0
        self._in_flight_here = 0
        self._last_delivery = time.monotonic()  # as the tick saw it (not per message)
        self._taken_seen = 0  # `taken` at the last tick
        # Where every message goes when the route is one and nothing is read to decide it.
        self._one_route = _one_route(destination) if options.match is None else None
        self._dry_run = options.dry_run
        # settling
        self._seq = 0
        self._in_flight: deque[_Flight] = deque()  # in publish order
        self._returned: dict[int, str] = {}  # publish sequence number -> the return's reply
        self._order: deque[int] = deque()  # source tags not yet acked, while nothing is held
        self._safe: set[int] = set()  # source tags whose copy is confirmed, ack not yet sent
        self._held = False  # once a delivery is held back, acks go one by one
        self._settle_pending = False  # confirms came; their acks go once the read is handled
        self._exchanges_ok: set[str] = {""}
        self._exchanges_missing: set[str] = set()
        self._checking: dict[str, list[_Waiting]] = {}
        self._deadline: float | None = None

    # --- driving ---

    def run(self) -> MoveResult:
        # Only the origin (x-death) and --match read a message's properties besides user_id.
        with forwarding(self.destination.origin or self.options.match is not None):
            self._run()
        self._count_what_stayed()
        return self.result

    def _run(self) -> None:
        try:
            services = BatchingIOServices()  # one write per loop turn, for both connections
            first = pika.SelectConnection(
                connection_parameters(self.settings),
                on_open_callback=self._on_source_open,
                on_open_error_callback=lambda c, e: self._on_open_error(e, self.settings),
                on_close_callback=self._on_connection_closed,
                custom_ioloop=services,
            )
            self._ioloop = first.ioloop
            self._connections.append(first)
            other = self.destination.settings
            if other is not None:
                self._connections.append(
                    pika.SelectConnection(
                        connection_parameters(other),
                        on_open_callback=self._on_destination_open,
                        on_open_error_callback=lambda c, e: self._on_open_error(e, other),
                        on_close_callback=self._on_connection_closed,
                        custom_ioloop=services,
                    )
                )
            self._ioloop.call_later(CHECK_INTERVAL, self._tick)
            with stop_requests(self._on_stop_signal):
                self._ioloop.start()
        except KeyboardInterrupt:
            self._after_interrupt()

    def _on_stop_signal(self, signum: int) -> None:
        self.result.interrupted = True
        self.result.signal = SIGNAL_NAMES.get(signum, str(signum))
        self._ioloop.add_callback_threadsafe(self._interrupt)

    def _interrupt(self) -> None:
        """Take no more, collect the confirms already on their way, then let go."""
        self._stop_taking(grace=INTERRUPT_GRACE)
        self._maybe_finish()

    def _after_interrupt(self) -> None:
        """A KeyboardInterrupt (a second Ctrl-C, or one outside the loop): as `_interrupt`."""
        self.result.interrupted = True
        try:
            self._stop_taking(grace=INTERRUPT_GRACE)
            self._maybe_finish()
            if not all(c.is_closed for c in self._connections):
                self._ioloop.start()
        except KeyboardInterrupt:  # a second Ctrl-C: let go at once (the broker requeues)
            self._close_all()
        except Exception:  # pika's state after an interrupt is unknown; closing is enough
            self._close_all()

    def _count_what_stayed(self) -> None:
        result = self.result
        unconfirmed = len(self._in_flight) + sum(len(w) for w in self._checking.values())
        result.left[Left.unconfirmed] += unconfirmed
        if unconfirmed and not self.options.dry_run:
            result.maybe_duplicated += len(self._in_flight)
        self._in_flight.clear()
        self._returned.clear()
        self._checking.clear()
        if self._safe:  # confirmed copies whose originals could not be acked any more
            result.left[Left.unacked] += len(self._safe)
            result.maybe_duplicated += len(self._safe)
            self._safe.clear()
        if result.taken < result.asked and not result.drained_early:
            result.left[Left.not_reached] += result.asked - result.taken
        result.left = +result.left  # drop zero counts

    def _fail(self, error: MqctlError) -> None:
        if self.result.error is None:
            self.result.error = error
        self._close_all()

    def _close_all(self) -> None:
        """Close the connections: whatever is unacked at the source goes back to the queue.

        One still opening is closed once it is open (pika cannot abort the opening cleanly)."""
        self._closing = True
        for connection in self._connections:
            if connection.is_open:
                connection.close()
        self._stop_when_closed()

    def _stop_when_closed(self) -> None:
        if all(c.is_closed for c in self._connections) and self._ioloop is not None:
            self._ioloop.stop()

    # --- opening ---

    def _on_open_error(self, exc: BaseException, settings: ConnectionSettings) -> None:
        self._fail(connection_error(exc, settings))
        self._stop_when_closed()

    def _on_connection_closed(self, connection: pika.SelectConnection, reason: Any) -> None:
        if not self._closing:
            settings = self.settings
            if connection is not self._connections[0] and self.destination.settings is not None:
                settings = self.destination.settings
            elif self.result.moved:
                self.result.source_lost = True
            self._fail(connection_error(reason, settings))
        self._stop_when_closed()

    def _destination_connection(self) -> pika.SelectConnection:
        return self._connections[-1]

    def _on_source_open(self, connection: pika.SelectConnection) -> None:
        if self._closing:
            connection.close()
            return
        connection.channel(on_open_callback=self._on_source_channel)
        if self.destination.settings is None:
            self._on_destination_open(connection)

    def _on_destination_open(self, connection: pika.SelectConnection) -> None:
        if self._closing:
            connection.close()
            return
        connection.channel(on_open_callback=self._on_publish_channel)
        connection.channel(on_open_callback=self._on_probe_channel)

    def _on_source_channel(self, channel: pika.channel.Channel) -> None:
        self._source = channel
        channel.add_on_close_callback(self._on_channel_closed)
        self._ready()

    def _on_publish_channel(self, channel: pika.channel.Channel) -> None:
        self._publish = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        self._ready()

    def _on_probe_channel(self, channel: pika.channel.Channel) -> None:
        first = self._probe is None
        self._probe = channel
        channel.add_on_close_callback(self._on_probe_closed)
        if first:
            self._ready()
        else:
            self._check_next_exchange()

    def _ready(self) -> None:
        if self._source is None or self._publish is None or self._probe is None:
            return
        self._source.queue_declare(self.queue, passive=True, callback=self._on_depth)

    def _on_depth(self, frame: pika.frame.Method) -> None:
        depth = frame.method.message_count
        count = self.options.count
        self.result.asked = depth if count is None else min(count, depth)
        assert self._probe is not None
        destination = self.destination
        if destination.queue is not None:
            self.doing = f"checking the destination queue {destination.queue!r}"
            self._probe.queue_declare(
                destination.queue, passive=True, callback=lambda _: self._confirm_mode()
            )
        elif destination.exchange:
            self.doing = f"checking the destination exchange {destination.exchange!r}"
            self._exchanges_ok.add(destination.exchange)
            self._probe.exchange_declare(
                destination.exchange, passive=True, callback=lambda _: self._confirm_mode()
            )
        else:
            self._confirm_mode()

    def _confirm_mode(self) -> None:
        assert self._publish is not None
        if self.options.dry_run:
            return self._start_consumer()
        self.doing = f"turning on publisher confirms for {self.destination.description}"
        self._publish.confirm_delivery(self._on_confirm, callback=lambda _: self._start_consumer())

    def _start_consumer(self) -> None:
        remaining = self.result.asked - self.result.taken
        if self._stopping or remaining <= 0:
            self._stop_taking()
            return self._maybe_finish()
        assert self._source is not None
        self._prefetch = min(self.options.window, remaining, 65535)
        self.doing = f"consuming from queue {self.queue!r}"
        self._source.basic_qos(prefetch_count=self._prefetch, callback=lambda _: self._consume())

    def _consume(self) -> None:
        assert self._source is not None
        if self._stopping:
            return self._maybe_finish()
        self._first_tag = self._last_tag + 1
        self._base = self.result.taken
        self._acked_here = self._in_flight_here = 0
        self._last_delivery, self._taken_seen = time.monotonic(), self.result.taken
        self._consuming = True
        self.doing = f"moving messages to {self.destination.description}"
        self._consumer_tag = self._source.basic_consume(self.queue, self._on_message)

    def _on_channel_closed(self, channel: pika.channel.Channel, reason: Any) -> None:
        if self._closing or not isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            return  # ours, or the connection went: its own callback reports that
        doing = self.doing if channel is self._source or not self._consuming else "publishing"
        self._fail(channel_error(reason, doing, PUBLISH_HINTS))

    # --- taking ---

    def _on_message(
        self,
        channel: pika.channel.Channel,
        method: pika.spec.Basic.Deliver,
        properties: Any,
        body: bytes,
    ) -> None:
        tag = self._last_tag = method.delivery_tag
        result = self.result
        if self._stopping or result.taken >= result.asked:
            return  # beyond what was asked: stays unacked, goes back when we let go
        result.taken += 1
        where = self._one_route
        if where is not None and properties.user_id is None:
            self._send(tag, where, body, properties)  # nothing to decide: the common case
        else:
            self._take(tag, method.routing_key, properties, body)
        if result.taken >= result.asked:
            self._stop_taking()
        if self._held:  # only held deliveries can fill the window
            self._maybe_restart_consumer()
        if self._stopping:
            self._maybe_finish()

    def _take(self, tag: int, routing_key: str, properties: Any, body: bytes) -> None:
        """Send one delivery where it goes, or hold it back and count why."""
        result = self.result
        match = self.options.match
        if match is not None and not match.accepts(routing_key, properties):
            result.not_matching += 1
            self._hold(tag)
        elif properties.user_id is not None and properties.user_id != self._publisher_user:
            result.left[Left.user_id] += 1
            self._hold(tag)
        else:
            where = route(self.destination, routing_key, properties.headers)
            if isinstance(where, Left):
                result.left[where] += 1
                self._hold(tag)
            elif where[0] not in self._exchanges_ok:
                self._when_checked((tag, where, body, properties))
            else:
                self._send(tag, where, body, properties)

    def _send(self, tag: int, where: tuple[str, str], body: bytes, properties: Any) -> None:
        if self._dry_run:
            self.result.routes[where] += 1
            self.result.moved += 1
            return self._hold(tag)
        assert self._publish is not None
        self._publish.basic_publish(where[0], where[1], body, properties, mandatory=True)
        seq = self._seq = self._seq + 1
        self._in_flight.append((seq, tag, where, body, properties))
        if tag >= self._first_tag:
            self._in_flight_here += 1
        if not self._held:
            self._order.append(tag)

    def _hold(self, tag: int) -> None:
        """This delivery stays unacked until the end, then goes back to the source queue."""
        if not self._held:
            self._held = True
            self._order.clear()  # from now on acks go one by one

    # --- origin exchanges, checked before anything is sent to them ---

    def _when_checked(self, waiting: _Waiting) -> None:
        exchange = waiting[1][0]
        if exchange in self._exchanges_missing:
            self.result.left[Left.origin_missing] += 1
            return self._hold(waiting[0])
        queue = self._checking.setdefault(exchange, [])
        queue.append(waiting)
        if len(self._checking) == 1 and len(queue) == 1:
            self._check_next_exchange()

    def _check_next_exchange(self) -> None:
        if not self._checking or self._probe is None or not self._probe.is_open:
            return
        exchange = next(iter(self._checking))
        self.doing = f"checking exchange {exchange!r}"
        self._probe.exchange_declare(
            exchange, passive=True, callback=lambda _: self._exchange_checked(exchange, True)
        )

    def _exchange_checked(self, exchange: str, exists: bool) -> None:
        (self._exchanges_ok if exists else self._exchanges_missing).add(exchange)
        for tag, where, body, props in self._checking.pop(exchange, []):
            if exists:
                self._send(tag, where, body, props)
            else:
                self.result.left[Left.origin_missing] += 1
                self._hold(tag)
        self._check_next_exchange()
        self._maybe_restart_consumer()
        self._maybe_finish()

    def _on_probe_closed(self, channel: pika.channel.Channel, reason: Any) -> None:
        if self._closing or not isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            return
        if reason.reply_code != 404 or not self._checking:
            # The destination named on the command line does not exist: nothing was taken.
            return self._fail(channel_error(reason, self.doing))
        self._exchange_checked(next(iter(self._checking)), False)
        connection = self._destination_connection()
        if connection.is_open:
            connection.channel(on_open_callback=self._on_probe_channel)

    # --- settling ---

    def _on_return(
        self, channel: pika.channel.Channel, method: Any, properties: Any, body: bytes
    ) -> None:
        # A return names no publish sequence number; it comes before the Basic.Ack of its
        # copy, so the copy is the earliest unconfirmed one with the same route and content.
        returned, where = self._returned, (method.exchange, method.routing_key)
        for seq, _, sent_to, sent_body, sent_properties in self._in_flight:
            if (
                seq not in returned
                and sent_to == where
                and sent_body == body
                and _same_properties(sent_properties, properties)
            ):
                returned[seq] = f"{method.reply_code} {method.reply_text}"
                return

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tag, flights = method.delivery_tag, self._in_flight
        settled: list[_Flight] = []
        if method.multiple:
            while flights and flights[0][0] <= tag:
                settled.append(flights.popleft())
        elif flights and flights[0][0] == tag:
            settled.append(flights.popleft())
        else:  # a single confirm out of order
            for index, flight in enumerate(flights):
                if flight[0] == tag:
                    del flights[index]
                    settled.append(flight)
                    break
        refused = isinstance(method, pika.spec.Basic.Nack)
        returned, safe, routes, first = (
            self._returned,
            self._safe,
            self.result.routes,
            self._first_tag,
        )
        for seq, source_tag, where, _, _ in settled:
            if source_tag >= first:
                self._in_flight_here -= 1
            text = returned.pop(seq, None) if returned else None
            if text is not None:
                self.result.left[Left.returned] += 1
                self.result.returned_texts[text] += 1
                self._hold(source_tag)
            elif refused:
                self.result.left[Left.nacked] += 1
                self._hold(source_tag)
            else:
                safe.add(source_tag)
                routes[where] += 1
        if not self._settle_pending:
            # Once per turn of the I/O loop, for all the confirms read in it: one `multiple`
            # ack for many confirm frames, fewer frames for mqctl and for the broker.
            self._settle_pending = True
            self._ioloop.call_later(0, self._settle)

    def _settle(self) -> None:
        self._settle_pending = False
        if self._closing:
            return  # a connection went in between: what was not acked goes back
        self._ack_safe()
        self._maybe_restart_consumer()
        self._maybe_finish()

    def _ack_budget(self) -> int:
        """Acks of the current consumer's deliveries that free no room beyond what was asked."""
        if self._consumer_tag is None:
            return 1 << 62
        allowed = self.result.asked - self._base - self._prefetch
        return max(0, allowed - self._acked_here)

    def _ack_safe(self) -> None:
        channel = self._source
        if not self._safe or channel is None or not channel.is_open:
            return
        budget, first = self._ack_budget(), self._first_tag
        acked = acked_here = 0
        if self._held:
            # A `multiple` ack would take the held deliveries too: one ack each.
            old = [tag for tag in self._safe if tag < first]
            here = sorted(tag for tag in self._safe if tag >= first)[:budget]
            for tag in (*old, *here):
                channel.basic_ack(tag)
                self._safe.discard(tag)
            acked, acked_here = len(old) + len(here), len(here)
        else:
            order, safe, last = self._order, self._safe, 0
            while order and order[0] in safe:
                tag = order[0]
                if tag >= first and acked_here >= budget:
                    break
                order.popleft()
                safe.discard(tag)
                last = tag
                acked += 1
                acked_here += tag >= first
            if last:
                channel.basic_ack(last, multiple=True)
        self._acked_here += acked_here
        if acked:
            self.result.moved += acked
            self.progress(acked)

    def _maybe_restart_consumer(self) -> None:
        """Held deliveries fill the window: a new consumer gets a fresh one."""
        source = self._source
        if self._stopping or self._consumer_tag is None or source is None or not source.is_open:
            return
        if self._in_flight_here or self._checking:
            return  # confirms and checks to come will settle or free room
        unsettled_here = self.result.taken - self._base - self._acked_here
        if unsettled_here < self._prefetch:
            return
        tag, self._consumer_tag = self._consumer_tag, None
        source.basic_cancel(tag, callback=lambda _: self._restart())

    def _restart(self) -> None:
        self._ack_safe()
        self._start_consumer()

    # --- stopping ---

    def _stop_taking(self, grace: float | None = None) -> None:
        if grace is not None:
            self._deadline = time.monotonic() + grace
        if self._stopping:
            return
        self._stopping = True
        if self._deadline is None:
            self._deadline = time.monotonic() + self.options.confirm_timeout
        tag, self._consumer_tag = self._consumer_tag, None
        if tag is not None and self._source is not None and self._source.is_open:
            # Cancelled before the last acks, so that they free no room for more deliveries.
            self._source.basic_cancel(tag, callback=lambda _: self._maybe_finish())

    def _maybe_finish(self) -> None:
        if not self._stopping or self._closing:
            return
        if self._in_flight or self._checking:
            return  # confirms to come (the tick gives up at the deadline)
        self._let_go()

    def _let_go(self) -> None:
        """Ack what is safe, put every other delivery back in the queue, and close."""
        self._ack_safe()
        source = self._source
        if source is not None and source.is_open:
            # Tag 0 with multiple: every delivery still unacked goes back to the queue now.
            source.basic_nack(0, multiple=True, requeue=True)
        self._close_all()

    def _tick(self) -> None:
        if self._closing:
            return
        now, result = time.monotonic(), self.result
        if result.taken != self._taken_seen:  # deliveries came since the last tick
            self._taken_seen, self._last_delivery = result.taken, now
        if self._deadline is not None and now >= self._deadline:
            return self._let_go()  # what was not confirmed in time stays in the source
        if (
            not self._stopping
            and self._consumer_tag is not None
            and not self._in_flight
            and not self._checking
            and now - self._last_delivery >= self.options.idle_timeout
        ):
            result.drained_early = True
            self._stop_taking()
            self._maybe_finish()
        self._ioloop.call_later(CHECK_INTERVAL, self._tick)


PUBLISH_HINTS = {406: "a message property was refused by the destination"}


def _same_properties(sent: Any, returned: Any) -> bool:
    raw = getattr(sent, "_raw", None)
    back = getattr(returned, "_raw", None)
    if raw is not None and back is not None:
        return bool(raw == back)
    return bool(sent.__dict__ == returned.__dict__)


def move(
    settings: ConnectionSettings,
    queue: str,
    destination: Destination,
    options: MoveOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> MoveResult:
    """Move messages out of `queue`; the result says what moved, what stayed and why.

    Refusals before anything was taken (no such queue or destination, a refused login) are in
    `result.error` too, so that a caller can always report what happened to the messages.
    """
    same_broker = destination.settings is None or (
        destination.settings.address == settings.address
        and destination.settings.vhost == settings.vhost
    )
    destination.validate(queue, same_broker)
    options = options or MoveOptions()
    if options.dry_run:
        refusal = look_cost(settings, queue).refusal("mqctl move --dry-run")
        if refusal is not None:
            result = MoveResult(queue, destination.description, dry_run=True, error=refusal)
            return result
    return Mover(settings, queue, destination, options, progress).run()


def move_queue(settings: ConnectionSettings, source: str, target: str) -> MoveResult:
    """Every message of `source` into queue `target` on the same broker and vhost.

    For `topology apply --recreate`: raises the error (with what moved and what stayed) unless
    every message that was in `source` at the start is now in `target`.
    """
    result = move(settings, source, Destination(queue=target))
    if result.error is not None:
        raise result.error
    if not result.complete or result.left_total:
        left = ", ".join(f"{n} {why.value}" for why, n in result.left.items())
        raise BrokerError(
            f"moving queue {source!r} to {target!r}: moved {result.moved} of {result.asked}"
            + (f"; left in {source!r}: {left}" if left else ""),
            "nothing was lost: what did not move is still in the source queue",
        )
    return result

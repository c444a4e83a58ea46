"""Consuming and getting messages without losing any.

A message is acked (or rejected) only after the writer has written and flushed it; whatever was
delivered but not written when the consumer stops (count reached, Ctrl-C, broken pipe, output
error) is nacked with requeue, or requeued by the broker when the connection closes. Messages
that arrive in one read from the socket are written as one batch and acked with one `multiple`
ack, which is what makes this as fast as a plain pika loop.

Acks belong to the channel the message came on. With a `Failover`, a lost connection is opened
again and consuming starts over on the new channel: what the lost one delivered and was not
written is back in the queue (the broker requeued it) and comes again; nothing delivered on the
old channel is ever acked on the new one. A message written just before the loss, whose ack may
not have reached the broker, can come again too, marked redelivered.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import pika.channel
import pika.compat
import pika.exceptions
import pika.spec

from mqctl.amqp_connection import channel_error, connection_error, open_connection
from mqctl.config import ConnectionSettings
from mqctl.errors import BadInput, BrokerError
from mqctl.jsonvalues import parse_timestamp
from mqctl.messaging import codec
from mqctl.messaging.failover import Failover
from mqctl.messaging.message import Delivery, OutputFailed
from mqctl.messaging.session import AsyncSession
from mqctl.messaging.signals import SIGNAL_NAMES, stop_requests

NOT_IMPLEMENTED = 540  # RabbitMQ's reply to basic.get on a stream queue

DEFAULT_PREFETCH = 1000
_INTERVAL = re.compile(r"^\d+[YMDhms]$")


class AckMode(StrEnum):
    ack = "ack"  # after the message is written and flushed
    requeue = "requeue"  # a look: every message goes back when the consumer stops
    reject = "reject"  # reject without requeue, after writing: dead-lettering applies
    no_ack = "no-ack"  # the broker forgets each message as it sends it


class StopReason(StrEnum):
    count_reached = "count reached"
    timeout = "timeout"
    interrupted = "interrupted"
    output_closed = "output closed"
    output_error = "output error"
    cancelled = "cancelled by the broker"
    failed = "failed"
    empty = "queue empty"


class Writer(Protocol):
    def write_batch(self, deliveries: Sequence[Delivery]) -> None: ...


@dataclass(frozen=True)
class ConsumeSource:
    """A queue, or an exchange to tap through a temporary exclusive queue."""

    queue: str | None = None
    exchange: str | None = None
    binding_key: str = "#"
    offset: Any = None  # the x-stream-offset argument, from `parse_offset`

    @property
    def name(self) -> str:
        return f"queue {self.queue!r}" if self.queue is not None else f"exchange {self.exchange!r}"


@dataclass(frozen=True)
class ConsumeOptions:
    count: int | None = None
    timeout: float | None = None  # idle seconds
    prefetch: int | None = None
    ack: AckMode = AckMode.ack


@dataclass
class ConsumeResult:
    ack: AckMode
    delivered: int = 0
    written: int = 0
    reason: StopReason | None = None
    output_error: str | None = None
    signal: str | None = None  # what interrupted: Ctrl-C or SIGTERM
    reconnects: int = 0  # connections opened again after a loss

    @property
    def put_back(self) -> int:
        """Delivered messages that went back to the queue (none are lost unless --no-ack)."""
        if self.ack is AckMode.requeue:
            return self.delivered
        return 0 if self.ack is AckMode.no_ack else self.delivered - self.written

    @property
    def lost(self) -> int:
        return self.delivered - self.written if self.ack is AckMode.no_ack else 0


def parse_offset(text: str) -> Any:
    """--offset: first, last, next, an offset number, an ISO 8601 time, or an interval (30m)."""
    raw = text.strip()
    if raw in ("first", "last", "next"):
        return raw
    if raw.isdigit():
        return pika.compat.long(int(raw))  # sent as a 64-bit 'l', which RabbitMQ expects
    if _INTERVAL.match(raw):
        return raw
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise BadInput(
            f"--offset {text!r} is not a stream offset",
            "use first, last, next, an offset number, an ISO 8601 time or an interval like 30m",
        ) from None


def validate(source: ConsumeSource, options: ConsumeOptions) -> None:
    if (source.queue is None) == (source.exchange is None):
        raise BadInput("give --queue or --exchange (with --binding-key)", "e.g. --queue orders")
    if source.offset is not None and options.ack is not AckMode.ack:
        raise BadInput(
            f"--offset (a stream queue) does not combine with --{options.ack.value}",
            "stream queues keep their messages; acks only pace the consumer",
        )


class Consumer(AsyncSession):
    hints: ClassVar[dict[int, str]] = {
        406: "a stream queue needs acks (no --no-ack) and --offset; a quorum or classic queue "
        "takes no --offset",
    }

    def __init__(
        self,
        settings: ConnectionSettings,
        source: ConsumeSource,
        options: ConsumeOptions,
        writer: Writer,
        failover: Failover | None = None,
    ) -> None:
        super().__init__(settings, failover)
        self.source = source
        self.options = options
        self.writer = writer
        self.result = ConsumeResult(options.ack)
        self.doing = f"consuming from {source.name}"
        self.queue = source.queue or ""
        self._pending: list[Delivery] = []
        self._flush_scheduled = False
        self._stopping = False
        self._consumer_tag: str | None = None
        self._last_activity = time.monotonic()
        self._delivered_here = 0  # on this channel (acks and counts are per channel)
        self._written_here = 0
        self._came_back = 0  # delivered on the lost channel, not written: requeued by the broker
        self._stream_next: Any = None  # a stream: the offset after the last message written

    @property
    def _auto_ack(self) -> bool:
        # With --count, --no-ack acks each message on arrival instead: prefetch then bounds the
        # deliveries to the count, so no message beyond it is sent and forgotten.
        return self.options.ack is AckMode.no_ack and not self.options.count

    def consume(self) -> ConsumeResult:
        codec.install()
        self.run()
        self.result.reconnects = self.reconnects
        if self.interrupted:
            self.result.reason = StopReason.interrupted
            self.result.signal = self.signal
        return self.result

    # --- set-up ---

    def on_connection_lost(self) -> None:
        if self.options.ack is AckMode.no_ack and self._pending:
            # Delivered with no ack: the broker has forgotten them, so writing them now is
            # the only way they are not lost.
            self._flush()
        self._pending, self._flush_scheduled, self._consumer_tag = [], False, None
        unwritten = self._delivered_here - self._written_here
        self._delivered_here = self._written_here = 0
        if self.options.ack is not AckMode.no_ack:
            # Not lost: the broker requeued them with the channel, and they will be delivered
            # (and counted) again.
            self.result.delivered -= unwritten
            self._came_back = unwritten

    def wants_reconnect(self) -> bool:
        return not self._stopping

    def reconnected_note(self) -> str:
        if self.source.exchange is not None:
            return (
                f"; tapping {self.source.name} again (what it routed while disconnected was not "
                "seen)"
            )
        if self._stream_next is not None:
            return f"; reading the stream again from offset {self._stream_next}"
        if self.options.ack is AckMode.no_ack:
            return (
                "; consuming again (--no-ack: what the broker had sent on the lost connection "
                "and did not arrive is lost)"
            )
        back, self._came_back = self._came_back, 0
        note = "; consuming again (the last messages written before the loss may come again, "
        note += "marked redelivered, if their acks were lost"
        if back:
            note += f"; {back} delivered and not written went back to the queue"
        return note + ")"

    def start(self, channel: pika.channel.Channel) -> None:
        if self.source.exchange is not None:
            self.doing = f"declaring a queue to tap {self.source.name}"
            channel.queue_declare("", exclusive=True, auto_delete=True, callback=self._on_declared)
        else:
            self._set_qos()

    def _on_declared(self, frame: Any) -> None:
        assert self.channel is not None
        self.queue = frame.method.queue
        self.doing = f"binding to {self.source.name} with key {self.source.binding_key!r}"
        self.channel.queue_bind(
            self.queue,
            self.source.exchange or "",
            routing_key=self.source.binding_key,
            callback=lambda _: self._set_qos(),
        )

    def _set_qos(self) -> None:
        assert self.channel is not None
        self.doing = f"consuming from {self.source.name}"
        if self._auto_ack:
            self._consume()
            return
        self.channel.basic_qos(prefetch_count=self._prefetch(), callback=lambda _: self._consume())

    def _prefetch(self) -> int:
        prefetch = self.options.prefetch
        if prefetch is None:
            # A look holds every message until the end: no limit unless a count bounds it.
            limited = self.options.ack is not AckMode.requeue or self.options.count
            prefetch = DEFAULT_PREFETCH if limited else 0
        if self.options.count:
            left = self.options.count - self.result.written
            prefetch = min(prefetch or left, left)
        return min(prefetch, 65535)

    def _consume(self) -> None:
        assert self.channel is not None
        offset = self._stream_next if self._stream_next is not None else self.source.offset
        arguments = {"x-stream-offset": offset} if offset is not None else {}
        self.channel.add_on_cancel_callback(self._on_cancelled)
        self._consumer_tag = self.channel.basic_consume(
            self.queue,
            self._on_message,
            auto_ack=self._auto_ack,
            arguments=arguments,
        )
        self._last_activity = time.monotonic()
        if self.options.timeout:
            self.call_later(min(self.options.timeout, 0.25), self._check_idle)

    # --- messages ---

    def _on_message(
        self,
        channel: pika.channel.Channel,
        method: pika.spec.Basic.Deliver,
        properties: pika.spec.BasicProperties,
        body: bytes,
    ) -> None:
        if self.channel is None or channel is not self.channel:
            return  # a lost channel's: the broker requeued it, it is never acked here
        self.result.delivered += 1
        self._delivered_here += 1
        if self._stopping:
            return  # stays unacked: put back when we stop
        if self.options.ack is AckMode.no_ack and not self._auto_ack:
            channel.basic_ack(method.delivery_tag)  # --no-ack with --count: ack on arrival
        self._pending.append(Delivery.from_method(method, properties, body))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_later(0, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._stopping or not self._pending:
            return
        batch, self._pending = self._pending, []
        self._last_activity = time.monotonic()
        count = self.options.count
        if count is not None:
            batch = batch[: count - self.result.written]
        try:
            self.writer.write_batch(batch)
        except OutputFailed as exc:
            self._settle(batch[: exc.written])
            self.result.output_error = str(exc.cause.strerror or exc.cause)
            if self.interrupted:
                self.stop(StopReason.interrupted)
            else:
                self.stop(StopReason.output_closed if exc.broken_pipe else StopReason.output_error)
            return
        if count is not None and self.result.written + len(batch) >= count:
            # Cancel before the last ack, so that the ack frees no room for another delivery.
            self.stop(StopReason.count_reached)
        self._settle(batch)

    def _settle(self, written: Sequence[Delivery]) -> None:
        """Tell the broker what became of messages that are now written."""
        if not written:
            return
        self.result.written += len(written)
        self._written_here += len(written)
        if self.source.offset is not None:
            self._stream_next = _next_offset(written[-1], self._stream_next)
        channel, last = self.channel, written[-1].delivery_tag
        if channel is None or not channel.is_open:
            return
        if self.options.ack is AckMode.ack:
            channel.basic_ack(last, multiple=True)
        elif self.options.ack is AckMode.reject:
            channel.basic_nack(last, multiple=True, requeue=False)
        # requeue: held unacked until stop(); no-ack: nothing to say

    def _check_idle(self) -> None:
        if self._stopping:
            return
        assert self.options.timeout
        idle = time.monotonic() - self._last_activity
        if idle >= self.options.timeout and not self._pending:
            self.stop(StopReason.timeout)
        else:
            self.call_later(min(self.options.timeout, 0.25), self._check_idle)

    def _on_cancelled(self, frame: Any) -> None:
        self.fail(
            BrokerError(
                f"the broker cancelled the consumer on {self.source.name}",
                "the queue was probably deleted",
            )
        )

    # --- stopping ---

    def stop(self, reason: StopReason) -> None:
        """Cancel the consumer, put back what was not written, and close."""
        if self._stopping:
            return
        self._stopping = True
        self.result.reason = reason
        channel = self.channel
        if channel is None or not channel.is_open or self._consumer_tag is None:
            self.finish()
            return
        channel.basic_cancel(self._consumer_tag, callback=lambda _: self._requeue_and_finish())

    def _requeue_and_finish(self) -> None:
        channel = self.channel
        unsettled = self.options.ack is not AckMode.no_ack and self.source.offset is None
        if channel is not None and channel.is_open and unsettled:
            # Tag 0 with multiple: every message still unacked on this channel.
            channel.basic_nack(0, multiple=True, requeue=True)
        self.finish()

    def on_interrupt(self) -> None:
        self._pending = []  # never written: the broker requeues them when we close

    def on_stop_request(self) -> None:
        self.stop(StopReason.interrupted)


@dataclass
class GetResult:
    ack: AckMode
    delivered: int = 0
    written: int = 0
    empty: bool = False
    output_error: OutputFailed | None = field(default=None)
    signal: str | None = None  # stopped by Ctrl-C or SIGTERM

    @property
    def put_back(self) -> int:
        return self.delivered if self.ack is AckMode.requeue else self.delivered - self.written


def _next_offset(delivery: Delivery, current: Any) -> Any:
    """The stream offset after `delivery` (its x-stream-offset header), to resume from."""
    offset = (delivery.properties.headers or {}).get("x-stream-offset")
    return pika.compat.long(offset + 1) if isinstance(offset, int) else current


def consume(
    settings: ConnectionSettings,
    source: ConsumeSource,
    options: ConsumeOptions,
    writer: Writer,
    failover: Failover | None = None,
) -> ConsumeResult:
    """Consume into `writer`; with `failover`, go on across lost connections (see the module)."""
    validate(source, options)
    consumer = Consumer(settings, source, options, writer, failover)
    result = consumer.consume()
    if consumer.error is not None:
        raise consumer.error
    return result


def get_messages(
    settings: ConnectionSettings, queue: str, count: int, ack: AckMode, writer: Writer
) -> GetResult:
    """basic.get up to `count` messages; ack/reject each once written, or requeue all at the end."""
    codec.install()
    result = GetResult(ack)
    connection = open_connection(settings)
    stops: list[int] = []
    try:
        channel = connection.channel()
        with stop_requests(stops.append):
            _get_loop(channel, queue, count, ack, writer, result, stops)
        if stops:
            result.signal = SIGNAL_NAMES.get(stops[0], str(stops[0]))
        if result.put_back:
            channel.basic_nack(0, multiple=True, requeue=True)
        connection.close()
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise channel_error(exc, f"getting from queue {queue!r}") from None
    except pika.exceptions.ConnectionClosedByBroker as exc:
        if exc.reply_code == NOT_IMPLEMENTED and "stream" in exc.reply_text:
            raise BrokerError(
                f"queue {queue!r} is a stream, which basic.get cannot read "
                f"({exc.reply_code} {exc.reply_text.split(' - ')[0]})",
                f"read it with: mqctl consume -q {shlex.quote(queue)} --offset first",
                reply_code=exc.reply_code,
            ) from None
        raise connection_error(exc, settings) from None
    except pika.exceptions.AMQPError as exc:
        raise connection_error(exc, settings) from None
    finally:
        if connection.is_open:
            with contextlib.suppress(Exception):  # closing requeues whatever is unacked
                connection.close()
    return result


def _get_loop(
    channel: Any,
    queue: str,
    count: int,
    ack: AckMode,
    writer: Writer,
    result: GetResult,
    stops: list[int],
) -> None:
    """One basic.get at a time; each written message is settled before the next get."""
    for _ in range(count):
        if stops:
            return  # Ctrl-C or SIGTERM: what was written is settled, nothing more is taken
        method, properties, body = channel.basic_get(queue, auto_ack=ack is AckMode.no_ack)
        if method is None:
            result.empty = True
            return
        result.delivered += 1
        delivery = Delivery.from_method(method, properties, body)
        try:
            writer.write_batch([delivery])
        except OutputFailed as exc:
            result.output_error = exc
            return
        result.written += 1
        if ack is AckMode.ack:
            channel.basic_ack(method.delivery_tag)
        elif ack is AckMode.reject:
            channel.basic_reject(method.delivery_tag, requeue=False)

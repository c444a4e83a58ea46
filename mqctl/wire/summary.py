"""`--summary`: what happened, per connection and overall.

Frames and bytes per method; messages published, delivered and fetched; publisher confirms paired
with their publishes (acked, nacked, never confirmed) with the publish-to-confirm latency;
deliveries paired with the consumer's acks, nacks and rejects (and those still unacknowledged when
the channel closed or the capture ended); Basic.Return reasons; channel and connection errors.

Only the methods that matter here have their arguments decoded; the rest are counted by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mqctl.wire.frames import (
    BodyFrame,
    CutFrame,
    DecodeProblem,
    FrameError,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
)
from mqctl.wire.methods import method_name
from mqctl.wire.pipeline import Connection, Record

_K = {
    "Connection.Close": (10 << 16) | 50,
    "Channel.Close": (20 << 16) | 40,
    "Channel.CloseOk": (20 << 16) | 41,
    "Basic.Consume": (60 << 16) | 20,
    "Basic.ConsumeOk": (60 << 16) | 21,
    "Basic.Publish": (60 << 16) | 40,
    "Basic.Return": (60 << 16) | 50,
    "Basic.Deliver": (60 << 16) | 60,
    "Basic.Get": (60 << 16) | 70,
    "Basic.GetOk": (60 << 16) | 71,
    "Basic.Ack": (60 << 16) | 80,
    "Basic.Reject": (60 << 16) | 90,
    "Basic.Nack": (60 << 16) | 120,
    "Confirm.Select": (85 << 16) | 10,
}
_FRAME_NAMES = {HeaderFrame: "ContentHeader", BodyFrame: "ContentBody", HeartbeatFrame: "Heartbeat"}


@dataclass
class ErrorReply:
    """A Channel.Close or Connection.Close with a reply code other than 200."""

    ts: float
    conn: int
    channel: int
    by: str  # "client" or "server"
    reply_code: int
    reply_text: str
    failing_method: str | None


@dataclass
class Counts:
    """The figures of one connection, or of all of them."""

    frames: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    published: int = 0
    delivered: int = 0
    fetched: int = 0
    confirms_acked: int = 0
    confirms_nacked: int = 0
    never_confirmed: int = 0
    acked: int = 0
    nacked: int = 0
    rejected: int = 0
    auto_acked: int = 0
    unacked: int = 0
    returns: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    errors: list[ErrorReply] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def merge(self, other: Counts) -> None:
        for name in ("frames", "bytes", "returns", "problems"):
            getattr(self, name).update(getattr(other, name))
        for name in [
            "published",
            "delivered",
            "fetched",
            "confirms_acked",
            "confirms_nacked",
            "never_confirmed",
            "acked",
            "nacked",
            "rejected",
            "auto_acked",
            "unacked",
        ]:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.latencies.extend(other.latencies)

    def latency_percentiles(self) -> dict[str, float] | None:
        """p50/p90/p99/max publish-to-confirm latency in milliseconds (None without confirms)."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

        return {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)}


class _Channel:
    __slots__ = (
        "confirm",
        "consume_no_ack",
        "get_no_ack",
        "no_ack_tags",
        "pending",
        "seq",
        "unacked",
    )

    def __init__(self) -> None:
        self.confirm = False
        self.seq = 0
        self.pending: dict[int, float] = {}  # publish sequence number -> publish time
        self.unacked: set[int] = set()  # delivery tags awaiting the consumer's ack
        self.consume_no_ack: list[bool] = []  # Basic.Consume no_ack flags awaiting ConsumeOk
        self.no_ack_tags: set[str] = set()  # consumer tags that need no acks
        self.get_no_ack = False


@dataclass
class Summary:
    connections: list[tuple[Connection, Counts]]
    total: Counts


class SummaryBuilder:
    """Feed records in order with `add`, then `finish`."""

    def __init__(self) -> None:
        self._counts: dict[int, tuple[Connection, Counts]] = {}
        self._channels: dict[tuple[int, int], _Channel] = {}

    def add_all(self, records: Iterable[Record]) -> Summary:
        add = self.add
        for record in records:
            add(record)
        return self.finish()

    def add(self, record: Record) -> None:
        conn = record.conn
        found = self._counts.get(conn.id)
        if found is None:
            found = self._counts[conn.id] = (conn, Counts())
        counts = found[1]
        event = record.event
        kind = type(event)
        if kind is MethodFrame:
            assert isinstance(event, MethodFrame)
            name = event.name
            counts.frames[name] += 1
            counts.bytes[name] += event.size + 8
            handler = _HANDLERS.get((event.class_id << 16) | event.method_id)
            if handler is not None:
                handler(self, record, event, counts)
        elif kind is DecodeProblem:
            assert isinstance(event, DecodeProblem)
            counts.problems[event.kind] += 1
        elif kind is ProtocolHeader:
            counts.frames["ProtocolHeader"] += 1
            counts.bytes["ProtocolHeader"] += 8
        elif kind is CutFrame:
            assert isinstance(event, CutFrame)
            counts.frames[event.name] += 1
            counts.bytes[event.name] += event.size + 8
            counts.problems["cut-frame"] += 1
        else:
            name = _FRAME_NAMES[kind]
            size = event.size  # type: ignore[union-attr]
            counts.frames[name] += 1
            counts.bytes[name] += size + 8

    def finish(self) -> Summary:
        for (conn_id, _channel), state in self._channels.items():
            self._close_channel(self._counts[conn_id][1], state)
        self._channels.clear()
        total = Counts()
        for _conn, counts in self._counts.values():
            total.merge(counts)
        return Summary(list(self._counts.values()), total)

    # --- per method -----------------------------------------------------------------------------

    def _channel(self, record: Record, channel: int) -> _Channel:
        key = (record.conn.id, channel)
        state = self._channels.get(key)
        if state is None:
            state = self._channels[key] = _Channel()
        return state

    @staticmethod
    def _close_channel(counts: Counts, state: _Channel) -> None:
        counts.never_confirmed += len(state.pending)
        counts.unacked += len(state.unacked)
        state.pending.clear()
        state.unacked.clear()

    def _args(self, event: MethodFrame, counts: Counts) -> dict[str, Any] | None:
        try:
            return event.args
        except FrameError:
            return None

    def _publish(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        counts.published += 1
        state = self._channel(record, event.channel)
        if state.confirm:
            state.seq += 1
            state.pending[state.seq] = record.ts

    def _confirm_select(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        state = self._channel(record, event.channel)
        if not state.confirm:
            state.confirm = True
            state.seq = 0

    def _ack_or_nack(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        if args is None:
            return
        state = self._channel(record, event.channel)
        tag, multiple = args["delivery_tag"], args.get("multiple", False)
        nack = event.method_id == 120
        if record.from_client:  # the consumer settles deliveries
            settled = _settle(state.unacked, tag, multiple)
            if event.method_id == 90:
                counts.rejected += settled
            elif nack:
                counts.nacked += settled
            else:
                counts.acked += settled
            return
        # the broker confirms publishes
        if multiple:
            done = [seq for seq in state.pending if tag == 0 or seq <= tag]
        else:
            done = [tag] if tag in state.pending else []
        for seq in done:
            published = state.pending.pop(seq)
            if nack:
                counts.confirms_nacked += 1
            else:
                counts.confirms_acked += 1
                counts.latencies.append(record.ts - published)

    def _consume(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        if args is not None:
            self._channel(record, event.channel).consume_no_ack.append(bool(args["no_ack"]))

    def _consume_ok(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        state = self._channel(record, event.channel)
        if args is not None and state.consume_no_ack and state.consume_no_ack.pop(0):
            state.no_ack_tags.add(args["consumer_tag"])

    def _deliver(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        counts.delivered += 1
        args = self._args(event, counts)
        if args is None:
            return
        state = self._channel(record, event.channel)
        if args["consumer_tag"] in state.no_ack_tags:
            counts.auto_acked += 1
        else:
            state.unacked.add(args["delivery_tag"])

    def _get(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        if args is not None:
            self._channel(record, event.channel).get_no_ack = bool(args["no_ack"])

    def _get_ok(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        counts.fetched += 1
        args = self._args(event, counts)
        if args is None:
            return
        state = self._channel(record, event.channel)
        if state.get_no_ack:
            counts.auto_acked += 1
        else:
            state.unacked.add(args["delivery_tag"])

    def _return(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        if args is not None:
            counts.returns[f"{args['reply_code']} {args['reply_text']}"] += 1

    def _close(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        args = self._args(event, counts)
        if args is not None and args["reply_code"] not in (0, 200):  # pika closes with 0
            failing = method_name(args["class_id"], args["method_id"]) if args["class_id"] else None
            counts.errors.append(
                ErrorReply(
                    record.ts,
                    record.conn.id,
                    event.channel,
                    "client" if record.from_client else "server",
                    args["reply_code"],
                    str(args["reply_text"]),
                    failing,
                )
            )
        if event.class_id == 20:
            self._close_channel(counts, self._channel(record, event.channel))
            self._channels.pop((record.conn.id, event.channel), None)

    def _close_ok(self, record: Record, event: MethodFrame, counts: Counts) -> None:
        state = self._channels.pop((record.conn.id, event.channel), None)
        if state is not None:
            self._close_channel(counts, state)


def _settle(unacked: set[int], tag: int, multiple: bool) -> int:
    if not multiple:
        if tag in unacked:
            unacked.discard(tag)
            return 1
        return 0
    done = [t for t in unacked if tag == 0 or t <= tag]
    unacked.difference_update(done)
    return len(done)


_HANDLERS = {
    _K["Basic.Publish"]: SummaryBuilder._publish,
    _K["Confirm.Select"]: SummaryBuilder._confirm_select,
    _K["Basic.Ack"]: SummaryBuilder._ack_or_nack,
    _K["Basic.Nack"]: SummaryBuilder._ack_or_nack,
    _K["Basic.Reject"]: SummaryBuilder._ack_or_nack,
    _K["Basic.Consume"]: SummaryBuilder._consume,
    _K["Basic.ConsumeOk"]: SummaryBuilder._consume_ok,
    _K["Basic.Deliver"]: SummaryBuilder._deliver,
    _K["Basic.Get"]: SummaryBuilder._get,
    _K["Basic.GetOk"]: SummaryBuilder._get_ok,
    _K["Basic.Return"]: SummaryBuilder._return,
    _K["Channel.Close"]: SummaryBuilder._close,
    _K["Connection.Close"]: SummaryBuilder._close,
    _K["Channel.CloseOk"]: SummaryBuilder._close_ok,
}

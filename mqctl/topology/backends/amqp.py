"""The AMQP backend: exchanges, queues and bindings declared with pika, one connection per vhost.

AMQP can only do part of the job: it has no way to list objects or read their properties, and no
methods at all for vhosts, users, permissions, policies or parameters (those need the management
API: `--via http`). Existing state is checked with passive declares, which tell whether an object
exists but not its properties; a declare whose properties differ is refused by the broker
(406 PRECONDITION_FAILED) and reported as a conflict. Bindings cannot be listed, so they are
re-declared on every apply, which the broker treats as a no-op when they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

import pika.exceptions

from mqctl.amqp_connection import channel_error, connection_error, open_connection
from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused, BadInput, BrokerError
from mqctl.messaging import codec
from mqctl.topology.backends.usage import UsageMap, passive_usage
from mqctl.topology.kinds import BY_SECTION, KINDS
from mqctl.topology.kinds.base import AmqpMethods
from mqctl.topology.model import Binding, Exchange, Queue, Topology, TopologyObject
from mqctl.topology.plan import BrokerFacts
from mqctl.topology.rules import BUILTIN_EXCHANGE_TYPES
from mqctl.wire.values import CodecError, encode_table

# Channels declaring side by side on one connection: the broker runs each channel in its own
# process, and measured on 3.10 with 1,000 queues and 2,000 bindings, 32 of them took 1.0 s
# where 4 took 1.8 s and one took 3.3 s (more than 64 got slower again).
LANES = 32
# The kinds AMQP can declare: those whose descriptor has AMQP methods.
AMQP_KINDS = frozenset(kind.section for kind in KINDS if kind.amqp is not None)
NEEDS_HTTP = (
    "AMQP 0-9-1 can declare only exchanges, queues and bindings; vhosts, users, permissions, "
    "policies and parameters need the management API"
)


def refuse_non_amqp(topology: Topology) -> None:
    """`--via amqp` on files that declare more than AMQP can: say what and what to do."""
    extra = {
        kind: len(objs)
        for kind, objs in topology.objects.items()
        if objs and kind not in AMQP_KINDS
    }
    if extra:
        listed = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in extra.items())
        raise BadInput(
            f"--via amqp: the files also declare {listed}; {NEEDS_HTTP}",
            "use --via auto (the default) or http, or keep those objects in a file applied over http",
        )


class AmqpBackend:
    name = "amqp"
    lists_bindings = False

    def __init__(self, settings: ConnectionSettings) -> None:
        # Arguments go out in mqctl's field encoding: pika's refuses floats and loses widths.
        codec.install_table_encoder()
        self.settings = settings
        self._deleting: dict[str, Any] = {}  # vhost -> connection kept for deletes
        self._delete_channels: dict[str, Any] = {}

    def close(self) -> None:
        """Close the connections kept for deletes."""
        for connection in self._deleting.values():
            _close_quietly(connection)
        self._deleting.clear()
        self._delete_channels.clear()

    @contextmanager
    def _connection(self, vhost: str) -> Iterator[Any]:
        """A connection to `vhost`, closed afterwards; a failure of the connection itself (the
        broker closing it, say for an exchange type no plugin provides) becomes mqctl's error."""
        settings = replace(self.settings, vhost=vhost)
        connection = open_connection(settings)
        try:
            yield connection
        except pika.exceptions.AMQPConnectionError as exc:
            raise connection_error(exc, settings) from None
        finally:
            _close_quietly(connection)

    def facts(self, desired: Topology | None = None, *, with_users: bool = True) -> BrokerFacts:
        """Which of the vhosts `desired` uses can be opened; exchange types as declared (plugin
        types cannot be listed over AMQP: the declare itself will tell)."""
        desired = desired or Topology()
        vhosts = set()
        for vhost in desired.vhosts_used():
            try:
                with self._connection(vhost):
                    vhosts.add(vhost)
            except AccessRefused:
                continue
        types = set(BUILTIN_EXCHANGE_TYPES) | {e.type for e in desired.of(Exchange)}
        return BrokerFacts(
            exchange_types=frozenset(types),
            enabled_plugins=frozenset(),
            existing_vhosts=frozenset(vhosts),
            amqp_only=True,
        )

    def read_state(self, desired: Topology) -> Topology:
        """Which of the declared exchanges and queues exist, and which of those the bindings
        name without declaring them (passive declares, side by side)."""
        actual = Topology()
        # Every command reads the state before it changes anything: refusing here covers them all.
        check_encodable(o for o in desired if o.kind in AMQP_KINDS)
        objects = [*desired.of(Exchange), *desired.of(Queue), *_binding_ends(desired)]
        for vhost, items in _by_vhost(objects).items():
            for obj in self._probe_vhost(vhost, items):
                actual.add(obj)  # exists; its properties are not visible over AMQP
        return actual

    def _probe_vhost(self, vhost: str, objects: list[TopologyObject]) -> list[TopologyObject]:
        """Passive declares, each on a channel of its own, many in flight at once.

        A passive declare of a missing object closes its channel (404), so one channel per probe
        lets them all be pipelined instead of paying a channel reopen and a round trip each.
        """
        try:
            with self._connection(vhost) as connection:
                return _Prober(connection).run(objects)
        except AccessRefused:
            return []  # the vhost does not exist (yet): nothing in it exists either

    def queue_usage(self, queues: list[Queue]) -> UsageMap:
        return passive_usage(self.settings, queues)

    def bulk_create(self, objects: list[TopologyObject], *, existing: Topology) -> None:
        """Exchanges first, then queues each followed by their bindings, pipelined over many
        channels of one connection per vhost.

        The broker orders methods only within a channel, so a queue's bindings go on the
        queue's channel right after it: they never race a queue another channel is creating.
        Only an object that exists can be refused (406, its properties differ), so the existing
        ones are declared again first, in every vhost: a conflict then leaves nothing created.
        """
        found = [o for o in objects if existing.get(o.kind, o.key) is not None]
        new = [o for o in objects if existing.get(o.kind, o.key) is None]
        # An exchange type no enabled plugin provides makes the broker close the connection
        # (503): such exchanges go next, in every vhost, before anything else is created.
        plugin_typed = [o for o in new if _plugin_typed(o)]
        rest = [o for o in new if not _plugin_typed(o)]
        for part in (found, plugin_typed, rest):
            for vhost, items in _by_vhost(part).items():
                self._create_in_vhost(vhost, items)

    def _create_in_vhost(self, vhost: str, objects: list[TopologyObject]) -> None:
        exchanges: list[list[TopologyObject]] = [[o] for o in objects if isinstance(o, Exchange)]
        runs = _queues_then_their_bindings(
            [o for o in objects if isinstance(o, Queue)],
            [o for o in objects if isinstance(o, Binding)],
        )
        with self._connection(vhost) as connection:
            # Bindings need their exchanges: all exchanges are declared before any binding.
            phases = [phase for phase in (exchanges, runs) if phase]
            lanes = _Lanes(connection, vhost, max(map(len, phases), default=1))
            for phase in phases:
                lanes.declare(phase)

    def put(self, obj: TopologyObject) -> None:
        if obj.kind not in AMQP_KINDS:
            raise BadInput(
                f"--via amqp cannot declare {obj.title()}: {NEEDS_HTTP}", "use --via http"
            )
        self.bulk_create([obj], existing=Topology())

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None:
        if obj.kind not in AMQP_KINDS:
            raise BadInput(
                f"--via amqp cannot delete {obj.title()}: {NEEDS_HTTP}", "use --via http"
            )
        vhost = obj.vhost_name or "/"
        if vhost not in self._deleting:  # one connection per vhost for all its deletes
            self._deleting[vhost] = open_connection(replace(self.settings, vhost=vhost))
        connection = self._deleting[vhost]
        try:
            # A refusal closes the channel: a new one then, else the same one for each delete.
            channel = self._delete_channels.get(vhost)
            if channel is None or not channel.is_open:
                channel = self._delete_channels[vhost] = connection.channel()
            _methods(obj).delete(channel, obj, if_empty)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise channel_error(exc, f"deleting {obj.title()}") from None
        except pika.exceptions.AMQPConnectionError as exc:
            del self._deleting[vhost]
            self._delete_channels.pop(vhost, None)
            raise connection_error(exc, replace(self.settings, vhost=vhost)) from None


class _Prober:
    """Drives pika's underlying (callback) channel API from a blocking connection."""

    WINDOW = 200  # channels in flight, at most; fewer when the connection allows fewer

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.window = min(self.WINDOW, _channel_limit(connection))
        self.found: list[TopologyObject] = []
        self.failure: BrokerError | None = None
        self.in_flight = 0

    def run(self, objects: list[TopologyObject]) -> list[TopologyObject]:
        pending = list(reversed(objects))
        while (pending or self.in_flight) and self.failure is None:
            while pending and self.in_flight < self.window:
                self._start(pending.pop())
            _poll(self.connection)
        if self.failure is not None:
            raise self.failure
        return self.found

    def _start(self, obj: TopologyObject) -> None:
        self.in_flight += 1

        def on_closed(_channel: Any, reason: Exception) -> None:
            self.in_flight -= 1
            code = getattr(reason, "reply_code", None)
            if isinstance(reason, pika.exceptions.ChannelClosedByBroker) and code != 404:
                self.failure = channel_error(reason, f"checking {obj.title()}")

        def on_ok(_frame: Any) -> None:
            self.found.append(obj)
            channel.close()

        def on_open(opened: Any) -> None:
            opened.add_on_close_callback(on_closed)
            if isinstance(obj, Exchange):
                opened.exchange_declare(obj.name, passive=True, callback=on_ok)
            elif isinstance(obj, Queue):
                opened.queue_declare(obj.name, passive=True, callback=on_ok)

        channel = self.connection._impl.channel(on_open_callback=on_open)


def _binding_ends(topology: Topology) -> list[TopologyObject]:
    """The exchanges and queues bindings name that the topology does not declare: probed too, so
    that a binding to nothing is refused before anything changes, as over http."""
    ends: dict[tuple[str, str, str], Exchange | Queue] = {}
    for b in topology.of(Binding):
        for kind, name in b.own_ends():
            if topology.get(kind, (b.vhost, name)) is None:
                make = Queue if kind == "queues" else Exchange
                ends.setdefault((kind, b.vhost, name), make(b.vhost, name))
    return list(ends.values())


def _by_vhost(objects: Iterable[TopologyObject]) -> dict[str, list[TopologyObject]]:
    """Objects grouped by vhost (one connection each), in their order."""
    groups: dict[str, list[TopologyObject]] = {}
    for obj in objects:
        groups.setdefault(obj.vhost_name or "/", []).append(obj)
    return groups


def _plugin_typed(obj: TopologyObject) -> bool:
    return isinstance(obj, Exchange) and obj.type not in BUILTIN_EXCHANGE_TYPES


def _close_quietly(connection: Any) -> None:
    """Close the connection underneath pika's blocking wrapper: pika sends the close of every
    channel at once and then the connection's (two round trips), where the wrapper would close
    the channels one by one, and it would fail on channels opened without it (lanes, probes)."""
    if connection.is_open:
        with suppress(pika.exceptions.AMQPError):
            connection._impl.close()
            _wait(connection, lambda: bool(connection.is_closed))


def _poll(connection: Any) -> None:
    # Callbacks on the underlying channels do not end a blocking wait early: poll in short
    # slices instead (each slice handles everything that has arrived).
    connection.process_data_events(time_limit=0.005)


def _wait(connection: Any, done: Callable[[], bool]) -> None:
    while not done():
        _poll(connection)


def _channel_limit(connection: Any) -> int:
    """How many channels may be open at once on `connection`: the channel_max agreed with the
    broker (a URL can lower it: ?channel_max=8), less one to spare."""
    return max(1, int(connection._impl.params.channel_max) - 1)


SHORT_STRING = 255  # bytes: AMQP's limit for names, routing keys and table keys


def check_encodable(objects: Iterable[TopologyObject]) -> None:
    """Refuse, before anything is sent, what AMQP cannot carry: names, routing keys and argument
    keys over 255 bytes, argument values no field type holds (an integer beyond 64 bits, say).
    pika would otherwise fail half-way, with declares already queued."""
    for obj in objects:
        texts = {"name": getattr(obj, "name", "")}
        if isinstance(obj, Binding):
            texts = {"source": obj.source, "destination": obj.destination}
            texts["routing key"] = obj.routing_key
        for what, text in texts.items():
            if len(text.encode()) > SHORT_STRING:
                raise BadInput(
                    f"{obj.title()}: its {what} is {len(text.encode())} bytes; AMQP carries at "
                    f"most {SHORT_STRING}",
                    "shorten it",
                )
        arguments = getattr(obj, "arguments", None)
        if arguments:
            try:
                encode_table(arguments)
            except CodecError as exc:
                raise BadInput(
                    f"{obj.title()}: its arguments cannot be sent over AMQP: {exc}",
                    "use --via http, which sends them as JSON",
                ) from None


def _queues_then_their_bindings(
    queues: list[Queue], bindings: list[Binding]
) -> list[list[TopologyObject]]:
    """Runs to keep together on one channel: a queue and the bindings to it; other bindings
    (to exchanges or to queues that already exist) one run each."""
    runs: dict[tuple[str, str], list[TopologyObject]] = {(q.vhost, q.name): [q] for q in queues}
    loose: list[list[TopologyObject]] = []
    for b in bindings:
        run = runs.get((b.vhost, b.destination)) if b.destination_type == "queue" else None
        if run is None:
            loose.append([b])
        else:
            run.append(b)
    return [*runs.values(), *loose]


class _Lanes:
    """Channels of one connection, each sent its share of declares without waiting (nowait),
    then one synchronous call each as a barrier.

    The broker handles a channel's methods in order, so when a barrier's reply arrives every
    declare before it on that channel has been carried out. If one failed, the broker closed
    that channel; its reason (which names the object) is kept and raised. The channels are
    opened, and their barriers sent, all at once: a few round trips whatever their number.
    """

    BATCH = 20  # declares per channel per turn, so that every channel has work from the start

    def __init__(self, connection: Any, vhost: str, wanted: int) -> None:
        self.connection = connection
        self.vhost = vhost
        self.failure: BaseException | None = None
        count = max(1, min(LANES, wanted, _channel_limit(connection)))
        opened: list[Any] = []
        self.channels = [
            connection._impl.channel(on_open_callback=opened.append) for _ in range(count)
        ]
        for channel in self.channels:
            channel.add_on_close_callback(self._on_closed)
        self._wait_for(lambda: len(opened) == count)

    def _on_closed(self, _channel: Any, reason: BaseException) -> None:
        if self.failure is None and isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            self.failure = reason

    def declare(self, runs: list[list[TopologyObject]]) -> None:
        """Declare every run, each on one channel in its order, runs dealt round the channels."""
        queues: list[list[TopologyObject]] = [[] for _ in self.channels]
        for i, run in enumerate(runs):
            queues[i % len(queues)].extend(run)
        # With no callback, pika's underlying channel sends the nowait form. Nothing reaches the
        # socket until the I/O loop runs, below.
        for start in range(0, max(map(len, queues), default=0), self.BATCH):
            for channel, objects in zip(self.channels, queues, strict=True):
                for obj in objects[start : start + self.BATCH]:
                    _declare(channel, obj, callback=None)
        passed: list[Any] = []
        for channel in self.channels:
            channel.basic_qos(prefetch_count=0, callback=passed.append)
        self._wait_for(lambda: len(passed) == len(self.channels))

    def _wait_for(self, done: Callable[[], bool]) -> None:
        _wait(self.connection, lambda: done() or self.failure is not None)
        if isinstance(self.failure, pika.exceptions.ChannelClosedByBroker):
            raise channel_error(self.failure, f"declaring in vhost {self.vhost!r}") from None


def _methods(obj: TopologyObject) -> AmqpMethods:
    methods = BY_SECTION[obj.kind].amqp
    assert methods is not None  # refuse_non_amqp and put/delete keep other kinds away
    return methods


def _declare(channel: Any, obj: TopologyObject, **extra: Any) -> None:
    """Declare `obj` on a blocking channel, or (with callback=None in `extra`) on pika's
    underlying channel, which then sends the nowait form."""
    _methods(obj).declare(channel, obj, **extra)

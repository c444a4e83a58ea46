"""The AMQP backend: exchanges, queues and bindings declared with pika, one connection per vhost.

AMQP can only do part of the job: it has no way to list objects or read their properties, and no
methods at all for vhosts, users, permissions, policies or parameters (those need the management
API: `--via http`). Existing state is checked with passive declares, which tell whether an object
exists but not its properties; a declare whose properties differ is refused by the broker
(406 PRECONDITION_FAILED) and reported as a conflict. Bindings cannot be listed, so they are
re-declared on every apply, which the broker treats as a no-op when they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any, TypeVar

import pika.exceptions

from mqctl.amqp_connection import channel_error, open_connection
from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused, BadInput, BrokerError
from mqctl.topology.model import AMQP_KINDS, Binding, Exchange, Queue, Topology, TopologyObject
from mqctl.topology.plan import BUILTIN_EXCHANGES, BrokerFacts
from mqctl.topology.rules import BUILTIN_EXCHANGE_TYPES

_T = TypeVar("_T")
# Connections used side by side for declares and passive checks: the broker runs each channel in
# its own process, so a few of them keep both of its schedulers busy.
CONNECTIONS = 4
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
            "use --via http (the default), or keep those objects in a file applied over http",
        )


class AmqpBackend:
    name = "amqp"

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.probe: Topology | None = None

    @contextmanager
    def _channel(self, vhost: str) -> Iterator[Any]:
        connection = open_connection(replace(self.settings, vhost=vhost))
        try:
            yield connection
        finally:
            if connection.is_open:
                with suppress(pika.exceptions.AMQPError):
                    connection.close()

    def facts(self, *, with_users: bool = True) -> BrokerFacts:
        vhosts = set()
        for vhost in self.probe.vhosts_used() if self.probe else []:
            try:
                with self._channel(vhost):
                    vhosts.add(vhost)
            except AccessRefused:
                continue
        types = set(BUILTIN_EXCHANGE_TYPES)
        if self.probe:  # plugin types cannot be listed over AMQP: the declare itself will tell
            types |= {e.type for e in self.probe.of(Exchange)}
        return BrokerFacts(
            exchange_types=frozenset(types),
            enabled_plugins=frozenset(),
            existing_vhosts=frozenset(vhosts),
            amqp_only=True,
        )

    def read_state(
        self,
        vhosts: Iterable[str],
        *,
        user_names: Iterable[str] = (),
        global_names: Iterable[str] = (),
        all_users: bool = False,
    ) -> Topology:
        """Which of the probed exchanges and queues exist (passive declares, side by side)."""
        actual = Topology()
        if self.probe is None:
            return actual
        wanted = set(vhosts)
        objects = [
            o for o in (*self.probe.of(Exchange), *self.probe.of(Queue)) if o.vhost_name in wanted
        ]
        for found in self._parallel(objects, self._probe_slice):
            for obj in found:
                actual.add(obj)  # exists; its properties are not visible over AMQP
        return actual

    def _probe_slice(self, vhost: str, objects: list[TopologyObject]) -> list[TopologyObject]:
        """Passive declares, each on a channel of its own, many in flight at once.

        A passive declare of a missing object closes its channel (404), so one channel per probe
        lets them all be pipelined instead of paying a channel reopen and a round trip each.
        """
        try:
            with self._channel(vhost) as connection:
                return _Prober(connection).run(objects)
        except AccessRefused:
            return []  # the vhost does not exist (yet): nothing in it exists either

    def _parallel(
        self,
        objects: Sequence[TopologyObject],
        work: Callable[[str, list[TopologyObject]], _T],
    ) -> list[_T]:
        """Run `work` on slices of `objects` (grouped by vhost) over CONNECTIONS connections."""
        by_vhost: dict[str, list[TopologyObject]] = {}
        for obj in objects:
            by_vhost.setdefault(obj.vhost_name or "/", []).append(obj)
        jobs = [
            (vhost, items[i::CONNECTIONS])
            for vhost, items in by_vhost.items()
            for i in range(min(CONNECTIONS, len(items)))
        ]
        if len(jobs) <= 1:
            return [work(vhost, items) for vhost, items in jobs]
        with ThreadPoolExecutor(min(CONNECTIONS, len(jobs))) as pool:
            return list(pool.map(lambda job: work(*job), jobs))

    def queue_usage(self, vhost: str, name: str) -> tuple[int, int]:
        with self._channel(vhost) as connection:
            ok = connection.channel().queue_declare(name, passive=True)
            return int(ok.method.message_count), int(ok.method.consumer_count)

    def bulk_create(self, objects: list[TopologyObject]) -> None:
        """Exchanges, then queues, then bindings: each phase pipelined over several connections."""
        for phase in (Exchange, Queue, Binding):
            self._parallel([o for o in objects if isinstance(o, phase)], self._declare_slice)

    def _declare_slice(self, vhost: str, objects: list[TopologyObject]) -> None:
        """Send every declare without waiting (nowait), then one synchronous call as a barrier.

        The broker handles a channel's methods in order, so when the barrier's reply arrives every
        declare before it has been carried out; if one failed, the broker closed the channel and
        the barrier raises with the broker's reason (which names the object).
        """
        with self._channel(vhost) as connection:
            channel = connection.channel()
            # pika's blocking channel always waits for each reply; its underlying channel object
            # sends the nowait form when no callback is given. Waiting per object is what makes
            # one-by-one declaring slow.
            impl = channel._impl
            try:
                for obj in objects:
                    _declare(impl, obj, callback=None)
                channel.basic_qos(prefetch_count=0)  # the barrier
            except pika.exceptions.ChannelClosedByBroker as exc:
                raise channel_error(exc, f"declaring in vhost {vhost!r}") from None
            except pika.exceptions.ChannelWrongStateError:
                raise BrokerError(
                    f"the broker closed the channel while declaring in vhost {vhost!r}",
                    "run mqctl topology plan to see what differs",
                ) from None

    def put(self, obj: TopologyObject) -> None:
        if obj.kind not in AMQP_KINDS:
            raise BadInput(
                f"--via amqp cannot declare {obj.title()}: {NEEDS_HTTP}", "use --via http"
            )
        self.bulk_create([obj])

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None:
        if obj.kind not in AMQP_KINDS:
            raise BadInput(
                f"--via amqp cannot delete {obj.title()}: {NEEDS_HTTP}", "use --via http"
            )
        with self._channel(obj.vhost_name or "/") as connection:
            channel = connection.channel()
            try:
                if isinstance(obj, Queue):
                    # Quorum queues refuse if-unused; consumers were checked just before.
                    channel.queue_delete(obj.name, if_empty=if_empty)
                elif isinstance(obj, Exchange):
                    channel.exchange_delete(obj.name)
                elif isinstance(obj, Binding):
                    if obj.destination_type == "queue":
                        channel.queue_unbind(
                            obj.destination, obj.source, obj.routing_key, obj.arguments or None
                        )
                    else:
                        channel.exchange_unbind(
                            obj.destination, obj.source, obj.routing_key, obj.arguments or None
                        )
            except pika.exceptions.ChannelClosedByBroker as exc:
                raise channel_error(exc, f"deleting {obj.title()}") from None


class _Prober:
    """Drives pika's underlying (callback) channel API from a blocking connection."""

    WINDOW = 200  # channels in flight; well under the broker's channel_max

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.found: list[TopologyObject] = []
        self.failure: BrokerError | None = None
        self.in_flight = 0

    def run(self, objects: list[TopologyObject]) -> list[TopologyObject]:
        pending = list(reversed(objects))
        while (pending or self.in_flight) and self.failure is None:
            while pending and self.in_flight < self.WINDOW:
                self._start(pending.pop())
            # Callbacks on the underlying channels do not end a blocking wait early: poll in
            # short slices instead (each slice handles everything that has arrived).
            self.connection.process_data_events(time_limit=0.005)
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


def _declare(channel: Any, obj: TopologyObject, **extra: Any) -> None:
    """Declare `obj` on a blocking channel, or (with callback=None in `extra`) on pika's
    underlying channel, which then sends the nowait form."""
    if isinstance(obj, Exchange):
        channel.exchange_declare(
            obj.name,
            exchange_type=obj.type,
            durable=obj.durable,
            auto_delete=obj.auto_delete,
            internal=obj.internal,
            arguments=obj.arguments or None,
            **extra,
        )
    elif isinstance(obj, Queue):
        channel.queue_declare(
            obj.name,
            durable=obj.durable,
            auto_delete=obj.auto_delete,
            arguments=obj.arguments or None,
            **extra,
        )
    elif isinstance(obj, Binding):
        if obj.source in BUILTIN_EXCHANGES and obj.source == "":
            raise BrokerError("cannot bind to the default exchange")
        bind = channel.queue_bind if obj.destination_type == "queue" else channel.exchange_bind
        bind(obj.destination, obj.source, obj.routing_key, obj.arguments or None, **extra)

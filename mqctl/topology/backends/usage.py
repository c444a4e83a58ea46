"""How many messages and consumers queues have, exactly enough to decide whether deleting them
loses messages.

A passive declare over AMQP is exact, now, for ready messages and consumers. Unacknowledged
messages it does not count; the management API's queue totals (`enable_queue_totals`) do, read
from each classic queue when asked (fresh) and from quorum queues' and streams' last metrics
tick (some seconds old). The API's statistics (`messages`) are never used: they lag by a
statistics interval, so a queue purged a moment ago would still "hold" what it held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused
from mqctl.topology.model import Queue
from mqctl.topology.plan import QueueUsage

UsageMap = dict[tuple[str, ...], QueueUsage]


def passive_usage(settings: ConnectionSettings, queues: Iterable[Queue]) -> UsageMap:
    """(messages, consumers) of each queue that exists, by key: one connection per vhost."""
    import pika.exceptions  # pika only when a queue is about to be deleted or recreated

    from mqctl.amqp_connection import open_connection

    by_vhost: dict[str, list[Queue]] = {}
    for queue in queues:
        by_vhost.setdefault(queue.vhost, []).append(queue)
    found: UsageMap = {}
    for vhost, items in by_vhost.items():
        try:
            connection = open_connection(replace(settings, vhost=vhost))
        except AccessRefused:
            continue  # the vhost does not exist: nor do its queues
        try:
            channel = connection.channel()
            for queue in items:
                try:
                    ok = channel.queue_declare(queue.name, passive=True)
                except pika.exceptions.ChannelClosedByBroker:
                    channel = connection.channel()  # 404: it does not exist (any more)
                    continue
                found[queue.key] = QueueUsage(
                    int(ok.method.message_count), int(ok.method.consumer_count)
                )
        finally:
            if connection.is_open:
                connection.close()
    return found


def with_unacked(passive: UsageMap, unacked: dict[tuple[str, ...], int]) -> UsageMap:
    """The passive declares' figures with each queue's unacknowledged messages added."""
    return {
        key: QueueUsage(usage.messages + unacked.get(key, 0), usage.consumers)
        for key, usage in passive.items()
    }

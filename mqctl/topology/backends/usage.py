"""How many messages and consumers queues have, exactly enough to decide whether deleting them
loses messages.

A passive declare over AMQP is exact for ready messages and consumers; the management API adds
unacknowledged messages but lags by a statistics interval. Where both are at hand the larger
figure wins.
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


def merged(*maps: UsageMap) -> UsageMap:
    """Per queue, the larger of each figure."""
    result: UsageMap = {}
    for usage_map in maps:
        for key, usage in usage_map.items():
            have = result.get(key)
            result[key] = (
                usage
                if have is None
                else QueueUsage(
                    max(have.messages, usage.messages), max(have.consumers, usage.consumers)
                )
            )
    return result

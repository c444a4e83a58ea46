"""delete queue|exchange|binding and purge queue: checked first, and nothing holding messages
goes unless asked.

`delete queue` reads the queue's depth and consumers just before (a passive declare, plus the
unacknowledged messages of the API's queue totals: never its lagging statistics, see
topology/backends/usage.py) and refuses a queue holding messages unless `allow_data_loss`. Classic
queues are then deleted with the broker's own `if-empty` (and `if-unused`), so a message that
arrives after the check still stops the delete. Quorum queues and streams refuse those flags, so
for them mqctl's check just before the delete is the guard.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mqctl.amqp_connection import channel_error, open_connection
from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused, BadInput, BrokerError, OperationFailed
from mqctl.management import ManagementClient
from mqctl.operate.changes import ChangeResult, validated
from mqctl.topology.backends.http import HttpBackend
from mqctl.topology.kinds.routing import properties_key
from mqctl.topology.model import Binding, Exchange, Loc, Queue
from mqctl.topology.rules import check_exchange

# The broker refuses if-empty and if-unused on these.
NO_BROKER_GUARD = ("quorum", "stream")


def require_vhost(client: ManagementClient, vhost: str) -> None:
    """An unknown vhost is exit 3 everywhere (as when AMQP refuses to open it), not a delete of
    nothing that went well."""
    if _find(client, "vhosts", vhost) is None:
        raise AccessRefused(
            f"no such vhost on the broker: {vhost!r}", "check --vhost or the URL's path"
        )


def _find(client: ManagementClient, *segments: str) -> dict[str, Any] | None:
    try:
        found = client.get(*segments)
    except BrokerError as exc:
        if exc.reply_code == 404:
            return None
        raise
    return dict(found)


def delete_queue(
    client: ManagementClient,
    vhost: str,
    name: str,
    *,
    allow_data_loss: bool = False,
    if_unused: bool = False,
) -> ChangeResult:
    title = Queue(vhost, name).title()
    require_vhost(client, vhost)
    info = _find(client, "queues", vhost, name)
    if info is None:
        return ChangeResult("absent", title)
    usage = HttpBackend(client).queue_usage([Queue(vhost, name)]).get((vhost, name))
    messages, consumers = usage or (0, 0)
    if messages and not allow_data_loss:
        raise OperationFailed(
            f"{title} holds {messages} message(s); nothing was deleted",
            "consume, move or purge them first, or pass --allow-data-loss to delete them with it",
        )
    if consumers and if_unused:
        raise OperationFailed(
            f"{title} has {consumers} consumer(s) and --if-unused was given; nothing was deleted"
        )
    params: dict[str, str] = {}
    if info.get("type") not in NO_BROKER_GUARD:
        if not allow_data_loss:
            params["if-empty"] = "true"
        if if_unused:
            params["if-unused"] = "true"
    try:
        client.delete("queues", vhost, name, params=params or None)
    except BrokerError as exc:
        if exc.reply_code == 400 and params:
            raise OperationFailed(
                f"{title} changed after mqctl checked it ({exc.message}); nothing was deleted",
                "look again (mqctl show queue) and retry",
            ) from None
        if exc.reply_code == 404:
            return ChangeResult("absent", title)
        raise
    return ChangeResult("deleted", title, messages)


def delete_exchange(
    client: ManagementClient, vhost: str, name: str, *, if_unused: bool = False
) -> ChangeResult:
    exchange = Exchange(vhost, name)
    problems = _name_problems(exchange)
    if problems:
        raise BadInput(f"{problems[0]}; nothing was deleted")
    require_vhost(client, vhost)
    if _find(client, "exchanges", vhost, name) is None:
        return ChangeResult("absent", exchange.title())
    try:
        client.delete("exchanges", vhost, name, params={"if-unused": "true"} if if_unused else None)
    except BrokerError as exc:
        if exc.reply_code == 400 and if_unused:
            raise OperationFailed(
                f"{exchange.title()} has bindings and --if-unused was given; nothing was deleted"
            ) from None
        raise
    return ChangeResult("deleted", exchange.title())


def _name_problems(exchange: Exchange) -> list[str]:
    """The topology rules' refusals of reserved names (the default exchange, amq.*)."""
    return [p.message for p in check_exchange(exchange, lambda _: Loc("mqctl delete"))]


def delete_binding(client: ManagementClient, document: dict[str, Any]) -> ChangeResult:
    """Unbind, found by the API's properties key (routing key and a hash of the arguments)."""
    binding = validated(document)
    assert isinstance(binding, Binding)
    require_vhost(client, binding.vhost)
    key = properties_key(client, binding)
    if key is None:
        return ChangeResult("absent", binding.title())
    letter = "q" if binding.destination_type == "queue" else "e"
    client.delete("bindings", binding.vhost, "e", binding.source, letter, binding.destination, key)
    return ChangeResult("deleted", binding.title())


def purge_queue(settings: ConnectionSettings, vhost: str, name: str) -> ChangeResult:
    """Purge over AMQP: queue.purge-ok says how many messages went (the API's DELETE does not)."""
    import pika.exceptions

    title = Queue(vhost, name).title()
    connection = open_connection(replace(settings, vhost=vhost))
    try:
        channel = connection.channel()
        try:
            ok = channel.queue_purge(name)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise channel_error(exc, f"purging {title}") from None
    finally:
        if connection.is_open:
            connection.close()
    return ChangeResult("purged", title, int(ok.method.message_count))

"""show overview | queue NAME: one record each, in the management API's own field names."""

from __future__ import annotations

from typing import Any

from mqctl.errors import BrokerError, OperationFailed
from mqctl.management import ManagementClient
from mqctl.topology.model import Queue

NODE_COLUMNS = "name,type,running,uptime,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,disk_free_alarm"
OVERVIEW_FIELDS = (
    "product_name",
    "product_version",
    "erlang_version",
    "cluster_name",
    "node",
    "management_version",
    "rates_mode",
    "object_totals",
    "queue_totals",
)
RATES = ("publish", "deliver_get", "ack", "confirm", "redeliver", "return_unroutable")
# Sections of `show`: lists of records, shown as tables of their own.
OVERVIEW_SECTIONS = ("nodes", "alarms")
QUEUE_SECTIONS = ("bindings", "consumer_details")
CONSUMER_FIELDS = ("consumer_tag", "ack_required", "prefetch_count", "active", "exclusive")
# Queue fields shown first (the rest follow in the API's order).
QUEUE_FIRST = (
    "vhost",
    "name",
    "type",
    "state",
    "node",
    "leader",
    "members",
    "online",
    "durable",
    "auto_delete",
    "exclusive",
    "arguments",
    "policy",
    "operator_policy",
    "effective_policy_definition",
    "messages",
    "messages_ready",
    "messages_unacknowledged",
    "consumers",
    "memory",
)


def overview(client: ManagementClient) -> dict[str, Any]:
    """Version, cluster name, nodes, totals, rates and alarms (from every node's flags)."""
    data = client.get("overview")
    record: dict[str, Any] = {
        field: data.get(field) for field in OVERVIEW_FIELDS if data.get(field) is not None
    }
    stats = data.get("message_stats") or {}
    record["rates"] = {
        name: (stats.get(f"{name}_details") or {}).get("rate", 0.0) for name in RATES
    }
    nodes = client.get("nodes", params={"columns": NODE_COLUMNS}) or []
    fields = NODE_COLUMNS.split(",")
    record["nodes"] = [{field: node.get(field) for field in fields} for node in nodes]
    record["alarms"] = node_alarms(nodes)
    return record


def node_alarms(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Memory and disk alarms as the nodes report them, and nodes that are down."""
    alarms = []
    for node in nodes:
        if node.get("mem_alarm"):
            alarms.append({"node": node["name"], "resource": "memory"})
        if node.get("disk_free_alarm"):
            alarms.append({"node": node["name"], "resource": "disk"})
        if node.get("running") is False:
            alarms.append({"node": node["name"], "resource": "node down"})
    return alarms


def queue_details(client: ManagementClient, vhost: str, name: str) -> dict[str, Any]:
    """Everything about one queue: its fields, bindings, policy in effect, consumers and, for
    quorum queues and streams, members, leader and the members online."""
    try:
        data = client.get("queues", vhost, name)
        bindings = client.get("queues", vhost, name, "bindings")
    except BrokerError as exc:
        if exc.reply_code == 404:
            raise OperationFailed(
                f"{Queue(vhost, name).title()} does not exist",
                "check the name and --vhost (mqctl list queues)",
            ) from None
        raise
    record: dict[str, Any] = {field: data[field] for field in QUEUE_FIRST if field in data}
    for field, value in data.items():
        if field not in record and field not in ("consumer_details", "garbage_collection"):
            record[field] = value
    record["bindings"] = [
        {
            "source": b.get("source") or "(default)",
            "routing_key": b.get("routing_key"),
            "arguments": b.get("arguments") or {},
        }
        for b in bindings or []
    ]
    record["consumer_details"] = [_consumer(c) for c in data.get("consumer_details") or []]
    return record


def _consumer(consumer: dict[str, Any]) -> dict[str, Any]:
    channel = consumer.get("channel_details") or {}
    result = {field: consumer.get(field) for field in CONSUMER_FIELDS}
    result["channel"] = channel.get("name")
    result["user"] = channel.get("user")
    return result

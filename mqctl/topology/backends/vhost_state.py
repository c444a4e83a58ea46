"""One vhost's exchanges, queues, bindings, policies and parameters from the management API, read
so that RabbitMQ 3.x and 4.x give the same records.

- Exchanges come from `GET /api/exchanges/{vhost}` (one more request per vhost): 4.3 leaves
  internal exchanges, and the `internal` key of every exchange, out of its definitions export.
- A per-vhost definitions answer that is broken (4.3.6 cuts the JSON off for some non-ASCII vhost
  names; 3.10 answers 500 while a binding with arguments has a '~' inside its key) falls back to
  the per-kind endpoints, which give the same records.
- 4.x states `x-queue-type: classic` on every classic queue. Where classic is also the vhost's
  default that says nothing a file needs to say, so it is left out, as 3.x leaves it out.
"""

from __future__ import annotations

from typing import Any

from mqctl.errors import BrokerError
from mqctl.management import ManagementClient, api_path
from mqctl.topology.model import BUILTIN_EXCHANGES

SECTIONS = ("queues", "exchanges", "bindings", "policies", "parameters")
EXCHANGE_COLUMNS = "name,type,durable,auto_delete,internal,arguments"
QUEUE_COLUMNS = "name,durable,auto_delete,arguments"
BINDING_COLUMNS = "source,destination,destination_type,routing_key,arguments"


Definitions = tuple[dict[str, list[dict[str, Any]]], str]  # the sections, the broker's version


def read_definitions(client: ManagementClient, vhost: str) -> Definitions:
    """The vhost's definitions sections (exchanges apart: see read_exchanges) and the version."""
    try:
        answer = client.get("definitions", vhost)
        sections = {name: list(answer.get(name) or []) for name in SECTIONS}
        version = str(answer.get("rabbitmq_version") or answer.get("rabbit_version") or "")
    except BrokerError as exc:
        if exc.reply_code not in (500, None):  # 500, or 200 with cut-off JSON
            raise
        sections = _per_kind(client, vhost, exc)
        version = str(
            client.get("overview", params={"columns": "rabbitmq_version"}).get(
                "rabbitmq_version", ""
            )
        )
    return sections, version


def read_exchanges(client: ManagementClient, vhost: str) -> list[dict[str, Any]]:
    """The vhost's exchanges but the built-in ones, from their own endpoint."""
    return [
        exchange
        for exchange in client.get("exchanges", vhost, params={"columns": EXCHANGE_COLUMNS})
        if exchange["name"] not in BUILTIN_EXCHANGES
    ]


def vhost_sections(
    definitions: Definitions, exchanges: list[dict[str, Any]], vhost_record: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The vhost's objects as definitions records (without `vhost` keys), whatever the version:
    what read_definitions and read_exchanges read (side by side: they are independent)."""
    sections, version = definitions
    sections["exchanges"] = exchanges
    if major_version(version) >= 4 and _default_queue_type(vhost_record) == "classic":
        for queue in sections["queues"]:
            arguments = queue.get("arguments") or {}
            if arguments.get("x-queue-type") == "classic":
                queue["arguments"] = {k: v for k, v in arguments.items() if k != "x-queue-type"}
    return sections


def _per_kind(
    client: ManagementClient, vhost: str, broken: BrokerError
) -> dict[str, list[dict[str, Any]]]:
    try:
        return {
            "queues": client.get("queues", vhost, params={"columns": QUEUE_COLUMNS}),
            "exchanges": [],  # read by the caller in every case
            "bindings": [
                b
                for b in client.get("bindings", vhost, params={"columns": BINDING_COLUMNS})
                if b["source"] != ""  # the default exchange's implicit bindings
            ],
            "policies": client.get("policies", vhost),
            "parameters": [p for p in client.get("parameters") if p.get("vhost") == vhost],
        }
    except BrokerError as exc:
        if broken.reply_code is None:  # answered, but not with JSON: the broker's fault
            what = (
                f"the broker's answer to {api_path('definitions', vhost)} was not JSON (RabbitMQ "
                "4.3.6 cuts it off for some non-ASCII vhost names)"
            )
        else:
            what = broken.message
        raise BrokerError(
            f"{what}, and reading the vhost kind by kind failed too: {exc.message}",
            "the broker's log names the cause; one known cause (RabbitMQ 3.10, 4.0) is a binding "
            "with arguments and a '~' inside its routing key: remove it with mqctl topology "
            "delete --via amqp FILE, FILE declaring just that binding",
            reply_code=exc.reply_code,
        ) from None


def major_version(version: str) -> int:
    """4 of "4.3.6"; 0 when the broker did not say."""
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _default_queue_type(vhost_record: dict[str, Any]) -> str:
    value = vhost_record.get("default_queue_type") or (vhost_record.get("metadata") or {}).get(
        "default_queue_type"
    )
    return "classic" if value in (None, "", "undefined") else str(value)

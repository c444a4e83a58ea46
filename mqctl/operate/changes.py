"""One-object changes: declare, delete and purge, on the topology engine's code path.

A declare builds a one-object document in the topology file format and runs it through the same
parser and per-type rules as files (`read_document`), the same plan (`compute_plan`: create,
unchanged, or conflict), the same refusals (missing vhost, plugin not enabled, binding to
nothing) and the same execution (`execute` on the HTTP backend). Only the reading of the broker's
state is narrower than `topology plan`'s: the object and its binding ends by name, not the whole
vhost's definitions (a declare in a vhost of 100,000 queues reads a few objects, not 100,000).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mqctl.errors import BadInput, BrokerError, OperationFailed
from mqctl.management import ManagementClient
from mqctl.topology.apply import PlanOptions, check_plan, execute
from mqctl.topology.backends.http import HttpBackend
from mqctl.topology.definitions import from_broker
from mqctl.topology.model import Binding, Exchange, Queue, Topology, TopologyObject
from mqctl.topology.plan import compute_plan
from mqctl.topology.validate import read_document

SOURCE = "mqctl declare"


@dataclass(frozen=True)
class ChangeResult:
    """What a one-object command did: `action` created, unchanged, deleted, absent, purged..."""

    action: str
    title: str
    count: int | None = None  # messages purged, or held by what was deleted

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"action": self.action, "object": self.title}
        if self.count is not None:
            result["messages"] = self.count
        return result

    def sentence(self) -> str:
        if self.action == "purged":
            noun = "message" if self.count == 1 else "messages"
            return f"purged {self.count} {noun} from {self.title}"
        if self.action == "absent":
            return f"{self.title} does not exist: nothing to delete"
        if self.action == "unchanged":
            return f"{self.title} exists with these properties: nothing to change"
        if self.action == "deleted" and self.count:
            return f"deleted {self.title} and the {self.count} message(s) it held"
        return f"{self.action} {self.title}"


# --- arguments -------------------------------------------------------------------------------


def parse_arguments(specs: Iterable[str], option: str = "--argument") -> dict[str, Any]:
    """`KEY=VALUE` pairs: VALUE read as JSON when it parses (3, true, "3"), else as text;
    `KEY:string=VALUE` keeps a text that looks like JSON."""
    result: dict[str, Any] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key:
            raise BadInput(
                f"{option} {spec!r}: expected KEY=VALUE",
                f"e.g. {option} x-message-ttl=60000 (KEY:string=VALUE for text)",
            )
        if key.endswith(":string"):
            result[key.removesuffix(":string")] = raw
            continue
        try:
            result[key] = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            result[key] = raw
    return result


# --- declare -------------------------------------------------------------------------------


def queue_document(
    vhost: str,
    name: str,
    *,
    queue_type: str | None = None,
    durable: bool | None = None,
    arguments: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name}
    if queue_type is not None:
        item["type"] = queue_type
    if durable is not None:
        item["durable"] = durable
    if arguments:
        item["arguments"] = dict(arguments)
    return {"vhost": vhost, "queues": [item]}


def exchange_document(
    vhost: str,
    name: str,
    exchange_type: str,
    *,
    durable: bool | None = None,
    arguments: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "type": exchange_type}
    if durable is not None:
        item["durable"] = durable
    if arguments:
        item["arguments"] = dict(arguments)
    return {"vhost": vhost, "exchanges": [item]}


def binding_document(
    vhost: str,
    source: str,
    *,
    to_queue: str | None = None,
    to_exchange: str | None = None,
    routing_key: str = "",
    arguments: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if (to_queue is None) == (to_exchange is None):
        raise BadInput(
            "a binding goes to a queue or to an exchange", "give --to-queue or --to-exchange"
        )
    item: dict[str, Any] = {"from": source, "routing_key": routing_key}
    item["to_queue" if to_queue is not None else "to_exchange"] = to_queue or to_exchange
    if arguments:
        item["arguments"] = dict(arguments)
    return {"vhost": vhost, "bindings": [item]}


def validated(document: Mapping[str, Any]) -> TopologyObject:
    """The one object of `document`, through the topology files' parser and rules."""
    topology, problems = read_document(document, SOURCE)
    if problems:
        raise BadInput("; ".join(_problem_text(p) for p in problems))
    objects = list(topology)
    assert len(objects) == 1, objects
    return objects[0]


def _problem_text(problem: Any) -> str:
    text = problem.message
    return f"{text} (allowed: {problem.allowed})" if getattr(problem, "allowed", None) else text


def declare(client: ManagementClient, document: Mapping[str, Any]) -> ChangeResult:
    """Create the object unless it exists with the same properties; refuse a different one."""
    obj = validated(document)
    backend = HttpBackend(client)
    desired = Topology()
    desired.add(obj)
    actual = read_narrow(client, obj)
    facts = backend.facts(with_users=False)
    vhost = obj.vhost_name or "/"
    if vhost not in facts.existing_vhosts:
        raise OperationFailed(
            f"vhost {vhost!r} does not exist; nothing was changed",
            "check --vhost (mqctl list vhosts), or create it (a topology file declaring it "
            "under vhosts:, mqctl topology apply)",
        )
    plan = compute_plan(desired, actual, facts)
    for change in plan.conflicts:  # the plan's conflict, said for one object on the line
        raise OperationFailed(
            f"{obj.title()} exists with other properties: "
            + "; ".join(
                f"{d.field} is {_json(d.old)} on the broker, {_json(d.new)} asked"
                for d in change.diffs
            )
            + "; nothing was changed",
            f"declare it as it is, or delete it first (mqctl delete {obj.label}); TTL, length "
            "and dead-lettering can change on a live queue through a policy",
        )
    if plan.refusals:  # the topology engine's words, on one line
        raise OperationFailed("refused, nothing was changed: " + "; ".join(plan.refusals))
    check_plan(plan, backend, actual, PlanOptions())
    if not plan.has_changes:
        return ChangeResult("unchanged", obj.title())
    execute(plan, backend, actual, [])
    return ChangeResult("created", obj.title())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def read_narrow(client: ManagementClient, obj: TopologyObject) -> Topology:
    """The broker's state as far as one object's plan needs it: the object, and for a binding
    its two ends and the bindings between them."""
    document: dict[str, list[dict[str, Any]]] = {"queues": [], "exchanges": [], "bindings": []}
    if isinstance(obj, Queue):
        _add_found(document["queues"], client, "queues", obj.vhost, obj.name)
    elif isinstance(obj, Exchange):
        _add_found(document["exchanges"], client, "exchanges", obj.vhost, obj.name)
    elif isinstance(obj, Binding):
        _add_found(document["exchanges"], client, "exchanges", obj.vhost, obj.source)
        kind = "queues" if obj.destination_type == "queue" else "exchanges"
        _add_found(document[kind], client, kind, obj.vhost, obj.destination)
        document["bindings"] = bindings_between(client, obj)
    topology = Topology()
    for found in from_broker(document):
        topology.add(found)
    return topology


def _add_found(bucket: list[dict[str, Any]], client: ManagementClient, *segments: str) -> None:
    try:
        bucket.append(client.get(*segments))
    except BrokerError as exc:
        if exc.reply_code != 404:
            raise


def bindings_between(client: ManagementClient, binding: Binding) -> list[dict[str, Any]]:
    letter = "q" if binding.destination_type == "queue" else "e"
    try:
        found = client.get(
            "bindings", binding.vhost, "e", binding.source, letter, binding.destination
        )
    except BrokerError as exc:
        if exc.reply_code == 404:
            return []
        raise
    return list(found or [])

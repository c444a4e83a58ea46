"""The live broker as a topology, and a topology as mqctl's YAML format (the loader's inverse).

`to_document()` writes friendly keys (`message_ttl`, `alternate_exchange`, `to_queue`) where the
value is one the format accepts, and leaves anything else in `arguments`, so that loading the
document gives back exactly the same objects.
"""

from __future__ import annotations

from typing import Any, Protocol

from mqctl.errors import AccessRefused
from mqctl.topology.model import (
    Binding,
    Exchange,
    GlobalParameter,
    OperatorPolicy,
    Parameter,
    Permission,
    Policy,
    Queue,
    TopicPermission,
    Topology,
    User,
    Vhost,
)
from mqctl.topology.parse import LIMIT_NAMES
from mqctl.topology.rules import QUEUE_ARGUMENT_BY_NAME

FORMAT_MARK = "mqctl-topology"
_LIMIT_KEYS = {v: k for k, v in LIMIT_NAMES.items()}


class StateReader(Protocol):
    def facts(self, *, with_users: bool = True) -> Any: ...

    def read_state(self, vhosts: list[str], *, all_users: bool = False) -> Topology: ...


def export_topology(
    reader: StateReader, vhosts: list[str], *, with_users: bool = False
) -> Topology:
    """Everything in `vhosts` (which must exist).

    Users only `with_users`: those with permissions in these vhosts, with their password hashes
    (never a password) so that applying the export gives them back as they were.
    """
    facts = reader.facts(with_users=False)
    missing = [v for v in vhosts if v not in facts.existing_vhosts]
    if missing:
        # An unknown vhost is exit 3 everywhere, as when AMQP refuses to open it.
        raise AccessRefused(
            f"no such vhost on the broker: {', '.join(repr(v) for v in missing)}",
            "check --vhost (mqctl topology export --vhost NAME)",
        )
    state = reader.read_state(vhosts, all_users=with_users)
    if with_users:
        granted = {p.user for p in [*state.of(Permission), *state.of(TopicPermission)]}
        users = state.objects[User.kind]
        for key in [key for key in users if key[0] not in granted]:
            del users[key]
    return state


def to_document(topology: Topology) -> dict[str, Any]:
    """The topology in mqctl's format; a file-level `vhost:` when everything is in one vhost."""
    used = topology.vhosts_used()
    default = used[0] if len(used) == 1 else None
    doc: dict[str, Any] = {"format": FORMAT_MARK}
    if default is not None:
        doc["vhost"] = default

    def scoped(vhost: str, body: dict[str, Any]) -> dict[str, Any]:
        return body if vhost == default else {**body, "vhost": vhost}

    sections: dict[str, list[dict[str, Any]]] = {}
    for v in topology.of(Vhost):
        entry: dict[str, Any] = {"name": v.name}
        if v.description is not None:
            entry["description"] = v.description
        if v.tags is not None:
            entry["tags"] = list(v.tags)
        if v.default_queue_type:
            entry["default_queue_type"] = v.default_queue_type
        if v.limits:
            entry["limits"] = {_LIMIT_KEYS.get(k, k): n for k, n in v.limits.items()}
        sections.setdefault("vhosts", []).append(entry)
    for e in topology.of(Exchange):
        sections.setdefault("exchanges", []).append(scoped(e.vhost, _exchange(e)))
    typed_vhosts = {
        v.name for v in topology.of(Vhost) if v.default_queue_type not in (None, "classic")
    }
    for q in topology.of(Queue):
        body = _queue(q)
        if q.vhost in typed_vhosts and "type" not in body:
            body = {"name": body.pop("name"), "type": "classic", **body}  # not the vhost default
        sections.setdefault("queues", []).append(scoped(q.vhost, body))
    for b in topology.of(Binding):
        entry = {"from": b.source, f"to_{b.destination_type}": b.destination}
        if b.routing_key:
            entry["routing_key"] = b.routing_key
        if b.arguments:
            entry["arguments"] = b.arguments
        sections.setdefault("bindings", []).append(scoped(b.vhost, entry))
    for key, cls in (("policies", Policy), ("operator_policies", OperatorPolicy)):
        for p in topology.of(cls):
            if type(p) is not cls:
                continue
            body = {
                "name": p.name,
                "pattern": p.pattern,
                "apply_to": p.apply_to,
                "priority": p.priority,
                "definition": p.definition,
            }
            sections.setdefault(key, []).append(scoped(p.vhost, body))
    for u in topology.of(User):
        user: dict[str, Any] = {"name": u.name, "tags": list(u.tags)}
        if u.password_hash is not None:
            user["password_hash"] = u.password_hash
            user["hashing_algorithm"] = u.hashing_algorithm or "rabbit_password_hashing_sha256"
        if u.limits:
            user["limits"] = {_LIMIT_KEYS.get(k, k): v for k, v in u.limits.items()}
        sections.setdefault("users", []).append(user)
    for perm in topology.of(Permission):
        body = {
            "user": perm.user,
            "configure": perm.configure,
            "write": perm.write,
            "read": perm.read,
        }
        sections.setdefault("permissions", []).append(scoped(perm.vhost, body))
    for tp in topology.of(TopicPermission):
        body = {"user": tp.user, "exchange": tp.exchange, "write": tp.write, "read": tp.read}
        sections.setdefault("topic_permissions", []).append(scoped(tp.vhost, body))
    for param in topology.of(Parameter):
        body = {"component": param.component, "name": param.name, "value": param.value}
        sections.setdefault("parameters", []).append(scoped(param.vhost, body))
    for g in topology.of(GlobalParameter):
        sections.setdefault("global_parameters", []).append({"name": g.name, "value": g.value})
    doc.update(sections)
    return doc


def _exchange(e: Exchange) -> dict[str, Any]:
    body: dict[str, Any] = {"name": e.name, "type": e.type}
    if not e.durable:
        body["durable"] = False
    if e.auto_delete:
        body["auto_delete"] = True
    if e.internal:
        body["internal"] = True
    args = dict(e.arguments)
    ae = args.get("alternate-exchange")
    if isinstance(ae, str):
        body["alternate_exchange"] = args.pop("alternate-exchange")
    if args:
        body["arguments"] = args
    return body


def _queue(q: Queue) -> dict[str, Any]:
    body: dict[str, Any] = {"name": q.name}
    args = dict(q.arguments)
    qtype = args.pop("x-queue-type", None)
    if qtype is not None and qtype != "classic":
        body["type"] = qtype
    elif qtype == "classic":
        args["x-queue-type"] = "classic"  # stated explicitly on the broker: keep it that way
    if not q.durable:
        body["durable"] = False
    if q.auto_delete:
        body["auto_delete"] = True
    for name in list(args):
        spec = QUEUE_ARGUMENT_BY_NAME.get(name)
        if (
            spec is not None
            and spec.check(args[name]) is None
            and (qtype or "classic") in spec.types
        ):
            body[spec.key] = args.pop(name)
    if args:
        body["arguments"] = args
    return body

"""RabbitMQ's definitions JSON <-> model objects.

Reading is lenient about what real files contain (tags as a text or a list, missing sections,
`metadata` on vhosts, extra keys from newer brokers) and strict about values that would fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from mqctl.redact import register_secret
from mqctl.topology.fields import Fields, items, typed_value
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import (
    Binding,
    Exchange,
    GlobalParameter,
    Loc,
    OperatorPolicy,
    Parameter,
    Permission,
    Policy,
    Queue,
    TopicPermission,
    Topology,
    TopologyObject,
    User,
    Vhost,
)
from mqctl.topology.parse import Located


class _Lenient(Fields):
    """Fields that accept whatever keys a broker's export carries."""

    def __init__(self, data: LMap, what: str, problems: list[Problem]) -> None:
        super().__init__(data, what, data.keys(), problems)


def _where(data: LMap) -> Callable[[str], Loc]:
    args = data.get("arguments")

    def where(name: str) -> Loc:
        if name in data:
            return data.loc_of(name)
        if name == "apply_to" and "apply-to" in data:
            return data.loc_of("apply-to")
        if isinstance(args, LMap) and name in args:
            return args.loc_of(name)
        return data.loc

    return where


def _args(f: Fields, key: str = "arguments") -> dict[str, Any]:
    value = f.mapping(key)
    return {k: typed_value(v, value.loc_of(k), f.problems) for k, v in value.items()}


def parse_definitions(
    data: Any, path: str, problems: list[Problem], default_vhost: str | None = None
) -> list[Located]:
    """Objects of a definitions file; those without a `vhost` key (a per-vhost export, as
    GET /api/definitions/{vhost} writes) go to `default_vhost` when one is given."""
    if not isinstance(data, LMap):
        problems.append(Problem(Loc(path, 1, 1), "a definitions file must be a JSON object"))
        return []
    out: list[Located] = []

    def vhost_of(f: _Lenient) -> str:
        if f.has("vhost"):
            return f.text("vhost", required=True) or ""
        if default_vhost is not None:
            return default_vhost
        problems.append(
            Problem(
                f.data.loc,
                f"{f.what} has no 'vhost'",
                "vhost: <text>; for a per-vhost export (GET /api/definitions/VHOST) give --vhost",
            )
        )
        return ""

    def section(key: str) -> list[tuple[LMap, Loc]]:
        return items(data.get(key), key, data.loc_of(key), problems)

    vhost_limits: dict[str, dict[str, int]] = {}
    for item, _ in section("vhosts"):
        f = _Lenient(item, "a vhost", problems)
        meta = f.mapping("metadata")
        mf = _Lenient(meta, "vhost metadata", problems)
        description = f.text("description") if f.has("description") else mf.text("description")
        tags = _tags(f) if f.has("tags") else (_tags(mf) if mf.has("tags") else None)
        dqt = f.text("default_queue_type") or mf.text("default_queue_type")
        limits = _int_map(f, "limits")
        vhost = Vhost(
            name=f.name(),
            description=description,
            tags=tags,
            default_queue_type=None if dqt in (None, "undefined") else dqt,
            limits=limits,
            loc=item.loc,
        )
        out.append((vhost, _where(item)))

    for item, _ in section("users"):
        f = _Lenient(item, "a user", problems)
        password = f.text("password")
        if password is not None:
            register_secret(password)
        user = User(
            name=f.name(),
            tags=_tags(f),
            password=password,
            password_hash=f.text("password_hash"),
            hashing_algorithm=f.text("hashing_algorithm"),
            limits=_int_map(f, "limits"),
            loc=item.loc,
        )
        out.append((user, _where(item)))

    for item, _ in section("permissions"):
        f = _Lenient(item, "a permission", problems)
        out.append(
            (
                Permission(
                    user=f.text("user", required=True) or "",
                    vhost=vhost_of(f),
                    configure=f.text("configure", "") or "",
                    write=f.text("write", "") or "",
                    read=f.text("read", "") or "",
                    loc=item.loc,
                ),
                _where(item),
            )
        )

    for item, _ in section("topic_permissions"):
        f = _Lenient(item, "a topic permission", problems)
        out.append(
            (
                TopicPermission(
                    user=f.text("user", required=True) or "",
                    vhost=vhost_of(f),
                    exchange=f.text("exchange", "") or "",
                    write=f.text("write", "") or "",
                    read=f.text("read", "") or "",
                    loc=item.loc,
                ),
                _where(item),
            )
        )

    for item, _ in section("parameters"):
        f = _Lenient(item, "a parameter", problems)
        component = f.text("component", required=True) or ""
        vhost_name = vhost_of(f)
        value = typed_value(item.get("value"), item.loc_of("value"), problems)
        if component == "vhost-limits" and isinstance(value, dict):
            vhost_limits[vhost_name] = {k: v for k, v in value.items() if isinstance(v, int)}
            continue
        param = Parameter(
            vhost=vhost_name, component=component, name=f.name(), value=value, loc=item.loc
        )
        out.append((param, _where(item)))

    for item, _ in section("global_parameters"):
        f = _Lenient(item, "a global parameter", problems)
        value = typed_value(item.get("value"), item.loc_of("value"), problems)
        out.append((GlobalParameter(name=f.name(), value=value, loc=item.loc), _where(item)))

    for key, cls in (("policies", Policy), ("operator_policies", OperatorPolicy)):
        for item, _ in section(key):
            f = _Lenient(item, "a policy", problems)
            policy = cls(
                vhost=vhost_of(f),
                name=f.name(),
                pattern=f.text("pattern", required=True) or "",
                definition=_args(f, "definition"),
                apply_to=f.text("apply-to", "all") or "all",
                priority=f.number("priority", 0) or 0,
                loc=item.loc,
            )
            out.append((policy, _where(item)))

    for item, _ in section("exchanges"):
        f = _Lenient(item, "an exchange", problems)
        exchange = Exchange(
            vhost=vhost_of(f),
            name=f.name(),
            type=f.text("type", "direct") or "direct",
            durable=f.flag("durable", True),
            auto_delete=f.flag("auto_delete", False),
            internal=f.flag("internal", False),
            arguments=_args(f),
            loc=item.loc,
        )
        out.append((exchange, _where(item)))

    for item, _ in section("queues"):
        f = _Lenient(item, "a queue", problems)
        args = _args(f)
        qtype = f.text("type")
        if qtype and qtype != "classic" and "x-queue-type" not in args:
            args["x-queue-type"] = qtype
        queue = Queue(
            vhost=vhost_of(f),
            name=f.name(),
            durable=f.flag("durable", True),
            auto_delete=f.flag("auto_delete", False),
            arguments=args,
            loc=item.loc,
        )
        out.append((queue, _where(item)))

    for item, _ in section("bindings"):
        f = _Lenient(item, "a binding", problems)
        binding = Binding(
            vhost=vhost_of(f),
            source=f.text("source", "") or "",
            destination=f.text("destination", required=True) or "",
            destination_type=f.text("destination_type", "queue") or "queue",
            routing_key=f.text("routing_key", "") or "",
            arguments=_args(f),
            loc=item.loc,
        )
        out.append((binding, _where(item)))

    if vhost_limits:
        out = [
            (replace(obj, limits=vhost_limits[obj.name]), where)
            if isinstance(obj, Vhost) and obj.name in vhost_limits
            else (obj, where)
            for obj, where in out
        ]
        declared = {obj.name for obj, _ in out if isinstance(obj, Vhost)}
        for name in vhost_limits.keys() - declared:
            out.append((Vhost(name=name, limits=vhost_limits[name], loc=data.loc), _where(data)))
    return out


def from_broker(document: dict[str, Any]) -> Iterator[TopologyObject]:
    """Objects from definitions JSON the broker itself produced: trusted, so read directly.

    This is the hot path of `plan` against a large vhost (thousands of objects), hence no
    locations and no per-field checks.
    """
    for v in document.get("vhosts", []):
        yield Vhost(
            name=v["name"],
            description=v.get("description") or "",
            tags=tuple(v.get("tags") or ()),
            default_queue_type=v.get("default_queue_type"),
            limits=dict(v.get("limits") or {}),
        )
    for u in document.get("users", []):
        tags = u.get("tags") or ()
        yield User(
            name=u["name"],
            tags=tuple(tags.split(",") if isinstance(tags, str) else tags),
            password_hash=u.get("password_hash"),
            hashing_algorithm=u.get("hashing_algorithm"),
            limits=dict(u.get("limits") or {}),
        )
    for p in document.get("permissions", []):
        yield Permission(p["user"], p["vhost"], p["configure"], p["write"], p["read"])
    for p in document.get("topic_permissions", []):
        yield TopicPermission(p["user"], p["vhost"], p["exchange"], p["write"], p["read"])
    for key, cls in (("policies", Policy), ("operator_policies", OperatorPolicy)):
        for p in document.get(key, []):
            yield cls(
                p["vhost"],
                p["name"],
                p["pattern"],
                p.get("definition") or {},
                p.get("apply-to") or "all",
                int(p.get("priority") or 0),
            )
    for p in document.get("parameters", []):
        yield Parameter(p["vhost"], p["component"], p["name"], p.get("value"))
    for g in document.get("global_parameters", []):
        yield GlobalParameter(g["name"], g.get("value"))
    for e in document.get("exchanges", []):
        yield Exchange(
            e["vhost"],
            e["name"],
            e.get("type", "direct"),
            bool(e.get("durable", True)),
            bool(e.get("auto_delete", False)),
            bool(e.get("internal", False)),
            e.get("arguments") or {},
        )
    for q in document.get("queues", []):
        yield Queue(
            q["vhost"],
            q["name"],
            bool(q.get("durable", True)),
            bool(q.get("auto_delete", False)),
            q.get("arguments") or {},
        )
    for b in document.get("bindings", []):
        yield Binding(
            b["vhost"],
            b["source"],
            b["destination"],
            b.get("destination_type", "queue"),
            b.get("routing_key", ""),
            b.get("arguments") or {},
        )


def _tags(f: Fields) -> tuple[str, ...]:
    return f.text_list("tags")


def _int_map(f: Fields, key: str) -> dict[str, int] | None:
    if not f.has(key):
        return None
    return {
        k: v for k, v in f.mapping(key).items() if isinstance(v, int) and not isinstance(v, bool)
    }


def to_definitions(topology: Topology, *, include_users: bool = False) -> dict[str, Any]:
    """The topology as RabbitMQ definitions JSON. Users (and their hashes) only when asked."""
    result: dict[str, Any] = {}
    result["vhosts"] = [
        {
            "name": v.name,
            **({"description": v.description} if v.description is not None else {}),
            **({"tags": list(v.tags)} if v.tags is not None else {}),
            **({"default_queue_type": v.default_queue_type} if v.default_queue_type else {}),
        }
        for v in topology.of(Vhost)
    ]
    if include_users:
        result["users"] = [
            {
                "name": u.name,
                "password_hash": u.password_hash or "",
                "hashing_algorithm": u.hashing_algorithm or "rabbit_password_hashing_sha256",
                "tags": list(u.tags),
                **({"limits": u.limits} if u.limits is not None else {}),
            }
            for u in topology.of(User)
        ]
    result["permissions"] = [
        {
            "user": p.user,
            "vhost": p.vhost,
            "configure": p.configure,
            "write": p.write,
            "read": p.read,
        }
        for p in topology.of(Permission)
    ]
    result["topic_permissions"] = [
        {"user": p.user, "vhost": p.vhost, "exchange": p.exchange, "write": p.write, "read": p.read}
        for p in topology.of(TopicPermission)
    ]
    params = [
        {"vhost": p.vhost, "component": p.component, "name": p.name, "value": p.value}
        for p in topology.of(Parameter)
    ]
    params += [
        {"vhost": v.name, "component": "vhost-limits", "name": "limits", "value": v.limits}
        for v in topology.of(Vhost)
        if v.limits
    ]
    result["parameters"] = params
    result["global_parameters"] = [
        {"name": g.name, "value": g.value} for g in topology.of(GlobalParameter)
    ]
    result["policies"] = [_policy(p) for p in topology.of(Policy)]
    if topology.of(OperatorPolicy):
        result["operator_policies"] = [_policy(p) for p in topology.of(OperatorPolicy)]
    result["queues"] = [queue_definition(q) for q in topology.of(Queue)]
    result["exchanges"] = [exchange_definition(e) for e in topology.of(Exchange)]
    result["bindings"] = [binding_definition(b) for b in topology.of(Binding)]
    return result


def _policy(p: Policy) -> dict[str, Any]:
    return {
        "vhost": p.vhost,
        "name": p.name,
        "pattern": p.pattern,
        "apply-to": p.apply_to,
        "definition": p.definition,
        "priority": p.priority,
    }


def queue_definition(q: Queue) -> dict[str, Any]:
    return {
        "name": q.name,
        "vhost": q.vhost,
        "durable": q.durable,
        "auto_delete": q.auto_delete,
        "arguments": q.arguments,
    }


def exchange_definition(e: Exchange) -> dict[str, Any]:
    return {
        "name": e.name,
        "vhost": e.vhost,
        "type": e.type,
        "durable": e.durable,
        "auto_delete": e.auto_delete,
        "internal": e.internal,
        "arguments": e.arguments,
    }


def binding_definition(b: Binding) -> dict[str, Any]:
    return {
        "source": b.source,
        "vhost": b.vhost,
        "destination": b.destination,
        "destination_type": b.destination_type,
        "routing_key": b.routing_key,
        "arguments": b.arguments,
    }

"""mqctl's YAML topology format -> model objects (with the location of every field).

The format is documented in the README ("Topology as code") and in `schema.json`; the keys here
are the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mqctl.redact import register_secret
from mqctl.topology.fields import Fields, items, plain_arguments, typed_value
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
    TopologyObject,
    User,
    Vhost,
)
from mqctl.topology.rules import QUEUE_ARGUMENTS, QueueArgument

Located = tuple[TopologyObject, Callable[[str], Loc]]

TOP_KEYS = (
    "format",
    "vhost",
    "vhosts",
    "exchanges",
    "queues",
    "bindings",
    "policies",
    "operator_policies",
    "users",
    "permissions",
    "topic_permissions",
    "parameters",
    "global_parameters",
)
VHOST_KEYS = ("name", "description", "tags", "default_queue_type", "limits")
EXCHANGE_KEYS = (
    "name",
    "vhost",
    "type",
    "durable",
    "auto_delete",
    "internal",
    "alternate_exchange",
    "arguments",
)
QUEUE_KEYS = (
    "name",
    "vhost",
    "type",
    "durable",
    "auto_delete",
    "exclusive",
    "arguments",
    *(a.key for a in QUEUE_ARGUMENTS),
)
BINDING_KEYS = ("vhost", "from", "to_queue", "to_exchange", "routing_key", "arguments")
POLICY_KEYS = ("name", "vhost", "pattern", "apply_to", "priority", "definition")
USER_KEYS = (
    "name",
    "tags",
    "password",
    "password_env",
    "password_file",
    "password_hash",
    "hashing_algorithm",
    "limits",
)
PERMISSION_KEYS = ("user", "vhost", "configure", "write", "read")
TOPIC_PERMISSION_KEYS = ("user", "vhost", "exchange", "write", "read")
PARAMETER_KEYS = ("component", "vhost", "name", "value")
GLOBAL_PARAMETER_KEYS = ("name", "value")
# The same as sets: checked against every mapping of a large file.
TOP_KEY_SET = frozenset(TOP_KEYS)
VHOST_KEY_SET = frozenset(VHOST_KEYS)
EXCHANGE_KEY_SET = frozenset(EXCHANGE_KEYS)
QUEUE_KEY_SET = frozenset(QUEUE_KEYS)
BINDING_KEY_SET = frozenset(BINDING_KEYS)
POLICY_KEY_SET = frozenset(POLICY_KEYS)
USER_KEY_SET = frozenset(USER_KEYS)
PERMISSION_KEY_SET = frozenset(PERMISSION_KEYS)
TOPIC_PERMISSION_KEY_SET = frozenset(TOPIC_PERMISSION_KEYS)
PARAMETER_KEY_SET = frozenset(PARAMETER_KEYS)
GLOBAL_PARAMETER_KEY_SET = frozenset(GLOBAL_PARAMETER_KEYS)
HASHING_ALGORITHMS = (
    "rabbit_password_hashing_sha256",
    "rabbit_password_hashing_sha512",
    "rabbit_password_hashing_md5",
)
LIMIT_NAMES = {
    "max_connections": "max-connections",
    "max_queues": "max-queues",
    "max_channels": "max-channels",
}


def _where(data: LMap, renames: dict[str, str] | None = None) -> Callable[[str], Loc]:
    """Locate a model field or x-argument back in the mapping the user wrote."""
    renames = renames or {}
    args = data.get("arguments")

    def where(name: str) -> Loc:
        key = renames.get(name, name)
        if key in data:
            return data.loc_of(key)
        if isinstance(args, LMap) and name in args:
            return args.loc_of(name)
        return data.loc

    return where


def parse_document(data: Any, path: str, env: Any, problems: list[Problem]) -> list[Located]:
    if not isinstance(data, LMap):
        problems.append(
            Problem(Loc(path, 1, 1), "a topology file must be a mapping", ", ".join(TOP_KEYS))
        )
        return []
    top = Fields(data, "a topology file", TOP_KEY_SET, problems)
    default_vhost = top.text("vhost", "/") or "/"
    out: list[Located] = []

    def section(key: str) -> list[tuple[LMap, Loc]]:
        return items(data.get(key), key, data.loc_of(key), problems)

    def vhost_of(f: Fields) -> str:
        return f.text("vhost", default_vhost) or default_vhost

    for item, _ in section("vhosts"):
        f = Fields(item, "a vhost", VHOST_KEY_SET, problems)
        limits = _limits(f, ("max_connections", "max_queues"))
        vhost = Vhost(
            name=f.name(),
            description=f.text("description"),
            tags=f.text_list("tags") if f.has("tags") else None,
            default_queue_type=f.text("default_queue_type"),
            limits=limits,
            loc=item.loc,
        )
        out.append((vhost, _where(item)))

    for item, _ in section("exchanges"):
        f = Fields(item, "an exchange", EXCHANGE_KEY_SET, problems)
        args = plain_arguments(f.mapping("arguments"), problems)
        ae = f.text("alternate_exchange")
        if ae is not None:
            args["alternate-exchange"] = ae
        exchange = Exchange(
            vhost=vhost_of(f),
            name=f.name(),
            type=f.text("type", "direct") or "direct",
            durable=f.flag("durable", True),
            auto_delete=f.flag("auto_delete", False),
            internal=f.flag("internal", False),
            arguments=args,
            loc=item.loc,
        )
        out.append((exchange, _where(item, {"alternate-exchange": "alternate_exchange"})))

    for item, _ in section("queues"):
        out.append(_queue(item, vhost_of, problems))

    for item, _ in section("bindings"):
        f = Fields(item, "a binding", BINDING_KEY_SET, problems)
        to_queue, to_exchange = f.text("to_queue"), f.text("to_exchange")
        if (to_queue is None) == (to_exchange is None):
            f.bad(
                "to_queue",
                "a binding needs exactly one of to_queue and to_exchange",
                "to_queue: NAME or to_exchange: NAME",
            )
        binding = Binding(
            vhost=vhost_of(f),
            source=f.text("from", required=True) or "",
            destination=to_queue if to_queue is not None else (to_exchange or ""),
            destination_type="queue" if to_queue is not None else "exchange",
            routing_key=f.text("routing_key", "") or "",
            arguments=plain_arguments(f.mapping("arguments"), problems),
            loc=item.loc,
        )
        renames = {
            "source": "from",
            "destination": "to_queue" if to_queue is not None else "to_exchange",
        }
        out.append((binding, _where(item, renames)))

    for key, cls in (("policies", Policy), ("operator_policies", OperatorPolicy)):
        for item, _ in section(key):
            f = Fields(item, "a policy", POLICY_KEY_SET, problems)
            policy = cls(
                vhost=vhost_of(f),
                name=f.name(),
                pattern=f.text("pattern", required=True) or "",
                definition=plain_arguments(f.mapping("definition"), problems),
                apply_to=f.text("apply_to", "all") or "all",
                priority=f.number("priority", 0) or 0,
                loc=item.loc,
            )
            out.append((policy, _where(item)))

    for item, _ in section("users"):
        out.append(_user(item, env, problems))

    for item, _ in section("permissions"):
        f = Fields(item, "a permission", PERMISSION_KEY_SET, problems)
        perm = Permission(
            user=f.text("user", required=True) or "",
            vhost=vhost_of(f),
            configure=f.text("configure", ".*") or "",
            write=f.text("write", ".*") or "",
            read=f.text("read", ".*") or "",
            loc=item.loc,
        )
        out.append((perm, _where(item)))

    for item, _ in section("topic_permissions"):
        f = Fields(item, "a topic permission", TOPIC_PERMISSION_KEY_SET, problems)
        tperm = TopicPermission(
            user=f.text("user", required=True) or "",
            vhost=vhost_of(f),
            exchange=f.text("exchange", required=True) or "",
            write=f.text("write", ".*") or "",
            read=f.text("read", ".*") or "",
            loc=item.loc,
        )
        out.append((tperm, _where(item)))

    for item, _ in section("parameters"):
        f = Fields(item, "a parameter", PARAMETER_KEY_SET, problems)
        param = Parameter(
            vhost=vhost_of(f),
            component=f.text("component", required=True) or "",
            name=f.name(),
            value=_value(item, problems),
            loc=item.loc,
        )
        out.append((param, _where(item)))

    for item, _ in section("global_parameters"):
        f = Fields(item, "a global parameter", GLOBAL_PARAMETER_KEY_SET, problems)
        out.append(
            (
                GlobalParameter(name=f.name(), value=_value(item, problems), loc=item.loc),
                _where(item),
            )
        )
    return out


def _value(item: LMap, problems: list[Problem]) -> Any:
    return typed_value(item.get("value"), item.loc_of("value"), problems)


def _limits(f: Fields, names: tuple[str, ...]) -> dict[str, int] | None:
    if not f.has("limits"):
        return None
    raw = f.mapping("limits")
    limits: dict[str, int] = {}
    lf = Fields(raw, "limits", names, f.problems)
    for name in names:
        value = lf.number(name, None, minimum=-1)
        if value is not None:
            limits[LIMIT_NAMES[name]] = value
    return limits


def _queue(item: LMap, vhost_of: Callable[[Fields], str], problems: list[Problem]) -> Located:
    f = Fields(item, "a queue", QUEUE_KEY_SET, problems)
    args = plain_arguments(f.mapping("arguments"), problems)
    qtype = f.text("type", "classic") or "classic"
    if qtype != "classic":
        args["x-queue-type"] = qtype
    elif "x-queue-type" in args and args["x-queue-type"] == "classic":
        pass
    renames: dict[str, str] = {"x-queue-type": "type"}
    for spec in QUEUE_ARGUMENTS:
        if f.has(spec.key):
            args[spec.argument] = _argument_value(f, spec)
            renames[spec.argument] = spec.key
    if f.flag("exclusive", False):
        allowed = "exclusive: false"
        why = (
            f"a {qtype} queue cannot be exclusive"
            if qtype != "classic"
            else "an exclusive queue belongs to one connection and cannot be provisioned"
        )
        f.bad("exclusive", why, allowed)
    queue = Queue(
        vhost=vhost_of(f),
        name=f.name(),
        durable=f.flag("durable", True),
        auto_delete=f.flag("auto_delete", False),
        arguments=args,
        loc=item.loc,
        type_given=f.has("type") or "x-queue-type" in args,
    )
    return queue, _where(item, renames)


def _argument_value(f: Fields, spec: QueueArgument) -> Any:
    return typed_value(f.data[spec.key], f.loc(spec.key), f.problems)


def _user(item: LMap, env: Any, problems: list[Problem]) -> Located:
    f = Fields(item, "a user", USER_KEY_SET, problems)
    secrets = [
        key for key in ("password", "password_env", "password_file", "password_hash") if f.has(key)
    ]
    if len(secrets) > 1:
        f.bad(
            secrets[1],
            f"a user takes one secret, not {' and '.join(secrets)}",
            "one of " + ", ".join(secrets),
        )
    password: str | None = None
    if f.has("password_env"):
        var = f.text("password_env") or ""
        if var in env:
            password = env[var]
        else:
            f.bad(
                "password_env",
                f"environment variable {var} (the user's password) is not set",
                f"export {var}",
            )
    elif f.has("password_file"):
        path = Path(f.text("password_file") or "").expanduser()
        try:
            password = path.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            f.bad("password_file", f"cannot read the password file {path}: {exc.strerror}")
    elif f.has("password"):
        password = f.text("password")
    algorithm = f.text("hashing_algorithm")
    if algorithm is not None and algorithm not in HASHING_ALGORITHMS:
        f.bad(
            "hashing_algorithm",
            f"unknown hashing_algorithm {algorithm!r}",
            ", ".join(HASHING_ALGORITHMS),
        )
    if password is not None:
        register_secret(password)
    user = User(
        name=f.name(),
        tags=f.text_list("tags"),
        password=password,
        password_hash=f.text("password_hash"),
        hashing_algorithm=algorithm,
        limits=_limits(f, ("max_connections", "max_channels")),
        loc=item.loc,
    )
    return user, _where(item)

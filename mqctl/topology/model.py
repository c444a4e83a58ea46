"""The topology model: a frozen dataclass per kind of broker object, and the `Topology` of them.

Objects are stored in the broker's own vocabulary (x-arguments, `apply-to`, ...) so that the desired
state read from files and the actual state read from the broker compare field by field. The friendly
keys of the YAML format (`message_ttl`, `alternate_exchange`, ...) exist only in the loader and the
exporter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple


class Loc(NamedTuple):
    """Where an object or value was written: `file:line:column` (1-based)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


NOWHERE = Loc("<broker>")


def canonical(value: Any) -> str:
    """A stable text for a JSON value (keys sorted): used in identities and comparisons."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def same_value(a: Any, b: Any) -> bool:
    """JSON equality that keeps bool and int apart (Python's `True == 1` would hide a change)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


@dataclass(frozen=True)
class TopologyObject:
    """Base of every kind. `key` identifies the object; `fields()` are what a plan compares."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # Fields that the broker cannot change in place: a difference is a conflict, not an update.
    immutable: ClassVar[frozenset[str]] = frozenset()
    # Where the object was declared; keyword-only so subclasses can add fields without defaults.
    loc: Loc = field(default=NOWHERE, compare=False, hash=False, kw_only=True)

    @property
    def key(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def vhost_name(self) -> str | None:
        return getattr(self, "vhost", None)

    def fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def title(self) -> str:
        """A one-line human name: `queue 'orders' in vhost '/'`."""
        names = "/".join(repr(part) for part in self.key[1:]) if self.vhost_name is not None else ""
        if self.vhost_name is None:
            return f"{self.label} {self.key[0]!r}"
        return f"{self.label} {names} in vhost {self.vhost_name!r}"


@dataclass(frozen=True)
class Vhost(TopologyObject):
    kind: ClassVar[str] = "vhosts"
    label: ClassVar[str] = "vhost"

    name: str
    # None: not managed by the files (a definitions file that leaves it out keeps the broker's).
    description: str | None = None
    tags: tuple[str, ...] | None = None
    default_queue_type: str | None = None
    limits: dict[str, int] | None = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def vhost_name(self) -> str | None:
        return None

    def fields(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.description is not None:
            result["description"] = self.description
        if self.tags is not None:
            result["tags"] = sorted(self.tags)
        if self.default_queue_type is not None:
            result["default_queue_type"] = self.default_queue_type
        if self.limits is not None:
            result["limits"] = dict(sorted(self.limits.items()))
        return result


@dataclass(frozen=True)
class Exchange(TopologyObject):
    kind: ClassVar[str] = "exchanges"
    label: ClassVar[str] = "exchange"
    immutable: ClassVar[frozenset[str]] = frozenset(
        {"type", "durable", "auto_delete", "internal", "arguments"}
    )

    vhost: str
    name: str
    type: str = "direct"
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.name)

    def fields(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "durable": self.durable,
            "auto_delete": self.auto_delete,
            "internal": self.internal,
            "arguments": self.arguments,
        }

    @property
    def alternate_exchange(self) -> str | None:
        value = self.arguments.get("alternate-exchange")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Queue(TopologyObject):
    kind: ClassVar[str] = "queues"
    label: ClassVar[str] = "queue"
    immutable: ClassVar[frozenset[str]] = frozenset({"type", "durable", "auto_delete", "arguments"})

    vhost: str
    name: str
    durable: bool = True
    auto_delete: bool = False
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    # False when a YAML file left `type` out: the vhost's default_queue_type then decides.
    type_given: bool = field(default=True, compare=False, hash=False, kw_only=True)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.name)

    @property
    def queue_type(self) -> str:
        value = self.arguments.get("x-queue-type")
        return value if isinstance(value, str) else "classic"

    def fields(self) -> dict[str, Any]:
        # x-queue-type is shown as `type`; an absent one and "classic" are the same queue.
        args = {k: v for k, v in self.arguments.items() if k != "x-queue-type"}
        return {
            "type": self.queue_type,
            "durable": self.durable,
            "auto_delete": self.auto_delete,
            "arguments": args,
        }

    @property
    def dead_letter_exchange(self) -> str | None:
        value = self.arguments.get("x-dead-letter-exchange")
        return value if isinstance(value, str) else None


# Exchanges every vhost has: never created, deleted or pruned, and always there to bind to.
BUILTIN_EXCHANGES = frozenset(
    {"", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match", "amq.rabbitmq.trace"}
)


@dataclass(frozen=True)
class Binding(TopologyObject):
    """A binding is wholly its identity: it is created or deleted, never changed."""

    kind: ClassVar[str] = "bindings"
    label: ClassVar[str] = "binding"

    vhost: str
    source: str
    destination: str
    destination_type: str = "queue"
    routing_key: str = ""
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        # Kept once made: canonical() of the arguments is not free (and cached_property takes a
        # lock on every first use, which costs as much for 60,000 bindings).
        made: tuple[str, ...] | None = self.__dict__.get("_key")
        if made is None:
            made = (
                self.vhost,
                self.source,
                self.destination_type,
                self.destination,
                self.routing_key,
                canonical(self.arguments) if self.arguments else "{}",
            )
            object.__setattr__(self, "_key", made)
        return made

    def fields(self) -> dict[str, Any]:
        return {}

    def own_ends(self) -> list[tuple[str, str]]:
        """(kind, name) of the ends that must exist for the binding to: its source exchange and
        its queue or exchange, less the built-in exchanges, which every vhost has."""
        dest_kind = "queues" if self.destination_type == "queue" else "exchanges"
        ends = [("exchanges", self.source), (dest_kind, self.destination)]
        return [(k, n) for k, n in ends if not (k == "exchanges" and n in BUILTIN_EXCHANGES)]

    def title(self) -> str:
        args = f" arguments {canonical(self.arguments)}" if self.arguments else ""
        return (
            f"binding {self.source!r} -> {self.destination_type} {self.destination!r} "
            f"key {self.routing_key!r}{args} in vhost {self.vhost!r}"
        )


@dataclass(frozen=True)
class Policy(TopologyObject):
    kind: ClassVar[str] = "policies"
    label: ClassVar[str] = "policy"

    vhost: str
    name: str
    pattern: str
    definition: dict[str, Any] = field(default_factory=dict, hash=False)
    apply_to: str = "all"
    priority: int = 0

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.name)

    def fields(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "apply_to": self.apply_to,
            "priority": self.priority,
            "definition": self.definition,
        }


@dataclass(frozen=True)
class OperatorPolicy(Policy):
    kind: ClassVar[str] = "operator_policies"
    label: ClassVar[str] = "operator policy"


@dataclass(frozen=True)
class User(TopologyObject):
    """A user. The password (plain) never leaves this object except towards the broker."""

    kind: ClassVar[str] = "users"
    label: ClassVar[str] = "user"

    name: str
    tags: tuple[str, ...] = ()
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    hashing_algorithm: str | None = None
    limits: dict[str, int] | None = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def vhost_name(self) -> str | None:
        return None

    def fields(self) -> dict[str, Any]:
        result: dict[str, Any] = {"tags": sorted(self.tags)}
        if self.limits is not None:
            result["limits"] = dict(sorted(self.limits.items()))
        return result


@dataclass(frozen=True)
class Permission(TopologyObject):
    kind: ClassVar[str] = "permissions"
    label: ClassVar[str] = "permission"

    user: str
    vhost: str
    configure: str = ".*"
    write: str = ".*"
    read: str = ".*"

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.user)

    def fields(self) -> dict[str, Any]:
        return {"configure": self.configure, "write": self.write, "read": self.read}

    def title(self) -> str:
        return f"permissions of user {self.user!r} in vhost {self.vhost!r}"


@dataclass(frozen=True)
class TopicPermission(TopologyObject):
    kind: ClassVar[str] = "topic_permissions"
    label: ClassVar[str] = "topic permission"

    user: str
    vhost: str
    exchange: str
    write: str = ".*"
    read: str = ".*"

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.user, self.exchange)

    def fields(self) -> dict[str, Any]:
        return {"write": self.write, "read": self.read}

    def title(self) -> str:
        return (
            f"topic permissions of user {self.user!r} on exchange {self.exchange!r} "
            f"in vhost {self.vhost!r}"
        )


@dataclass(frozen=True)
class Parameter(TopologyObject):
    """A vhost-scoped runtime parameter (shovel, federation-upstream, ...)."""

    kind: ClassVar[str] = "parameters"
    label: ClassVar[str] = "parameter"

    vhost: str
    component: str
    name: str
    value: Any = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.vhost, self.component, self.name)

    def fields(self) -> dict[str, Any]:
        return {"value": self.value}


@dataclass(frozen=True)
class GlobalParameter(TopologyObject):
    kind: ClassVar[str] = "global_parameters"
    label: ClassVar[str] = "global parameter"

    name: str
    value: Any = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def vhost_name(self) -> str | None:
        return None

    def fields(self) -> dict[str, Any]:
        return {"value": self.value}


# Creation order; deletion goes the other way.
KINDS: tuple[type[TopologyObject], ...] = (
    Vhost,
    User,
    Permission,
    TopicPermission,
    Policy,
    OperatorPolicy,
    GlobalParameter,
    Exchange,
    Queue,
    Binding,
    # Shovels and federation declare or consume queues: created after them, deleted before.
    Parameter,
)
KIND_BY_NAME: dict[str, type[TopologyObject]] = {cls.kind: cls for cls in KINDS}


@dataclass
class Topology:
    """Objects by kind, each kind a dict from key to object (insertion order kept)."""

    objects: dict[str, dict[tuple[str, ...], TopologyObject]] = field(
        default_factory=lambda: {cls.kind: {} for cls in KINDS}
    )
    # Set when objects of a YAML file without any vhost went to the connection's vhost.
    default_vhost: str | None = None

    def add(self, obj: TopologyObject) -> TopologyObject | None:
        """Add `obj`; return the object already there under the same key, if any (not replaced)."""
        bucket = self.objects[obj.kind]
        existing = bucket.get(obj.key)
        if existing is None:
            bucket[obj.key] = obj
        return existing

    def get(self, kind: str, key: tuple[str, ...]) -> TopologyObject | None:
        return self.objects[kind].get(key)

    def of(self, cls: type[Any]) -> list[Any]:
        return list(self.objects[cls.kind].values())

    def __iter__(self) -> Iterator[TopologyObject]:
        for cls in KINDS:
            yield from self.objects[cls.kind].values()

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self.objects.values())

    def vhosts_used(self) -> list[str]:
        """Every vhost the topology declares or puts an object in, in first-seen order."""
        seen: dict[str, None] = {}
        for obj in self:
            name = obj.key[0] if isinstance(obj, Vhost) else obj.vhost_name
            if name is not None:
                seen.setdefault(name, None)
        return list(seen)

    def counts(self) -> dict[str, int]:
        return {kind: len(bucket) for kind, bucket in self.objects.items() if bucket}

"""The plan: desired topology vs the broker's, object by object and field by field.

Each desired object is to be created, updated in place, left unchanged, or is in conflict (a
property the broker cannot change differs). With pruning, actual objects the files do not declare
are to be deleted, only inside the vhosts the files own. Checks that would make an apply fail
half-way (a plugin that is off, a vhost nobody declares, a binding to nothing) are `refusals`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from mqctl.topology.model import (
    BUILTIN_EXCHANGES,
    NOWHERE,
    Binding,
    Exchange,
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
    same_value,
)


class Action(StrEnum):
    create = "create"
    update = "update"
    unchanged = "unchanged"
    conflict = "conflict"
    delete = "delete"
    ensure = "ensure"  # AMQP cannot list bindings: re-declared (idempotently) on every apply


CHANGING = (Action.create, Action.update, Action.conflict, Action.delete)

# Plugin exchange types and parameter components, with the plugin that provides them.
PLUGIN_EXCHANGE_TYPES = {
    "x-consistent-hash": "rabbitmq_consistent_hash_exchange",
    "x-delayed-message": "rabbitmq_delayed_message_exchange",
    "x-random": "rabbitmq_random_exchange",
    "x-recent-history": "rabbitmq_recent_history_exchange",
    "x-modulus-hash": "rabbitmq_sharding",
    "x-jms-topic": "rabbitmq_jms_topic_exchange",
}
# Exchange types built into later versions, with what to say on an older broker.
BUILT_IN_LATER = {
    "x-local-random": "built into RabbitMQ 4.0 and later, and no plugin gives it before"
}
PLUGIN_COMPONENTS = {
    "shovel": "rabbitmq_shovel",
    "federation-upstream": "rabbitmq_federation",
    "federation-upstream-set": "rabbitmq_federation",
}
PRUNABLE = (Binding, Queue, Exchange, Parameter, OperatorPolicy, Policy)


@dataclass(frozen=True)
class FieldDiff:
    field: str
    old: Any
    new: Any
    secret: bool = False  # a password: the values are never shown

    def to_json(self) -> dict[str, Any]:
        if self.secret:
            return {"field": self.field, "old": "(hidden)", "new": "(hidden)"}
        return {"field": self.field, "old": self.old, "new": self.new}


class QueueUsage(NamedTuple):
    """What a queue holds: deleting it loses `messages`, and cancels its `consumers`."""

    messages: int
    consumers: int

    def __str__(self) -> str:
        def counted(n: int, noun: str) -> str:
            return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

        return f"holds {counted(self.messages, 'message')}, {counted(self.consumers, 'consumer')}"


@dataclass
class Change:
    action: Action
    obj: TopologyObject  # the desired object (the actual one for a delete)
    actual: TopologyObject | None = None
    diffs: list[FieldDiff] = field(default_factory=list)
    note: str | None = None
    # For a queue to be deleted or recreated: what it holds (read just before planning).
    usage: QueueUsage | None = None

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "action": str(self.action),
            "kind": self.obj.kind,
            "key": list(self.obj.key),
            "title": self.obj.title(),
        }
        if self.diffs:
            result["fields"] = [d.to_json() for d in self.diffs]
        if self.note:
            result["note"] = self.note
        if self.usage is not None:
            result["messages"], result["consumers"] = self.usage
        if self.obj.loc != NOWHERE:  # file:line:column (plan reads JSON files located)
            result["location"] = str(self.obj.loc)
        return result


@dataclass(frozen=True)
class BrokerFacts:
    """What the broker can do, for the checks made before anything changes."""

    exchange_types: frozenset[str]
    enabled_plugins: frozenset[str]
    existing_vhosts: frozenset[str]
    existing_users: frozenset[str] = frozenset()
    amqp_only: bool = False  # state read with passive declares: properties not visible


@dataclass
class Plan:
    changes: list[Change]
    refusals: list[str] = field(default_factory=list)
    owned_vhosts: list[str] = field(default_factory=list)
    # Where objects without a vhost went (the connection's vhost), when some did: the header.
    default_vhost: str | None = None
    # Not refusals: things the broker accepts but that are likely mistakes (an AE to nothing).
    warnings: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(c.action in CHANGING for c in self.changes)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.conflict]

    def of(self, *actions: Action) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    def counts(self) -> dict[str, int]:
        counts = {str(a): 0 for a in Action}
        for change in self.changes:
            counts[str(change.action)] += 1
        return counts

    def to_json(self, *, with_unchanged: bool = False) -> dict[str, Any]:
        return {
            "changes": [
                c.to_json()
                for c in self.changes
                if with_unchanged or c.action is not Action.unchanged
            ],
            "summary": self.counts(),
            "refusals": self.refusals,
            "warnings": self.warnings,
            "has_changes": self.has_changes,
            **({"default_vhost": self.default_vhost} if self.default_vhost is not None else {}),
        }

    def header(self) -> list[str]:
        if self.default_vhost is None:
            return []
        return [
            f"objects without a vhost go to {self.default_vhost!r}, the connection's vhost "
            "(--vhost, the URL's path or MQCTL_VHOST; / when none is given)"
        ]


def password_matches(password: str, stored_hash: str, algorithm: str | None) -> bool:
    """Whether a plain password matches RabbitMQ's salted hash (base64 of salt + H(salt+pw))."""
    try:
        raw = base64.b64decode(stored_hash)
    except ValueError:
        return False
    if len(raw) < 5:
        return False
    name = {
        "rabbit_password_hashing_sha512": "sha512",
        "rabbit_password_hashing_md5": "md5",
    }.get(algorithm or "", "sha256")
    salt = raw[:4]
    digest = hashlib.new(name, salt + password.encode("utf-8")).digest()
    return digest == raw[4:]


def diff_fields(desired: TopologyObject, actual: TopologyObject) -> list[FieldDiff]:
    want, have = desired.fields(), actual.fields()
    diffs = []
    for name, value in want.items():
        old = have.get(name)
        if same_value(value, old):
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            # One line per changed key: `arguments.x-message-ttl: 60000 -> 30000`.
            for key in [*old, *(k for k in value if k not in old)]:
                if not same_value(old.get(key), value.get(key)):
                    diffs.append(FieldDiff(f"{name}.{key}", old.get(key), value.get(key)))
        else:
            diffs.append(FieldDiff(name, old, value))
    if isinstance(desired, User) and isinstance(actual, User):
        diffs.extend(_password_diff(desired, actual))
    return diffs


def _password_diff(desired: User, actual: User) -> list[FieldDiff]:
    if desired.password is not None:
        if actual.password_hash and password_matches(
            desired.password, actual.password_hash, actual.hashing_algorithm
        ):
            return []
        return [FieldDiff("password", None, None, secret=True)]
    if desired.password_hash is not None and desired.password_hash != actual.password_hash:
        return [FieldDiff("password_hash", None, None, secret=True)]
    return []


def compute_plan(
    desired: Topology,
    actual: Topology,
    facts: BrokerFacts,
    *,
    prune: bool = False,
    prune_prefix: str | None = None,
    create_vhosts: bool = False,
) -> Plan:
    changes: list[Change] = []
    if create_vhosts:
        # Vhosts the objects use that neither the files nor the broker have: created first.
        changes.extend(
            Change(Action.create, Vhost(name=name)) for name in _missing_vhosts(desired, facts)
        )
    for obj in desired:
        have = actual.get(obj.kind, obj.key)
        if have is None:
            if facts.amqp_only and isinstance(obj, Binding):
                changes.append(Change(Action.ensure, obj, note="AMQP cannot list bindings"))
            else:
                changes.append(Change(Action.create, obj))
            continue
        if facts.amqp_only:
            # Over AMQP only existence is visible: declare again, and the broker checks the
            # properties (a difference comes back as 406 PRECONDITION_FAILED, reported as such).
            note = (
                "exists; AMQP cannot read its properties: declared again so the broker checks them"
            )
            changes.append(Change(Action.ensure, obj, have, note=note))
            continue
        diffs = diff_fields(obj, have)
        if not diffs:
            changes.append(Change(Action.unchanged, obj, have))
        elif any(d.field.split(".")[0] in obj.immutable for d in diffs):
            changes.append(
                Change(Action.conflict, obj, have, diffs, note=conflict_hint(obj, diffs))
            )
        else:
            changes.append(Change(Action.update, obj, have, diffs))
    owned = [v.name for v in desired.of(Vhost)]
    if prune:
        changes.extend(_prune(desired, actual, owned, prune_prefix))
    refusals = preflight(desired, actual, facts, create_vhosts=create_vhosts)
    return Plan(changes, refusals, owned)


def conflict_hint(obj: TopologyObject, diffs: list[FieldDiff]) -> str:
    if isinstance(obj, Queue):
        policy_able = {
            "x-message-ttl",
            "x-max-length",
            "x-max-length-bytes",
            "x-dead-letter-exchange",
            "x-dead-letter-routing-key",
            "x-expires",
            "x-overflow",
            "x-delivery-limit",
            "x-queue-mode",
            "x-max-age",
        }
        changed_args = _changed_arguments(diffs)
        if changed_args and changed_args <= policy_able:
            return (
                f"queue arguments cannot change in place; set {', '.join(sorted(changed_args))} "
                "with a policy instead, or use --recreate (only for an empty queue without "
                "consumers)"
            )
        return (
            "a queue's type, durability and arguments cannot change in place; use --recreate "
            "(only for an empty queue without consumers)"
        )
    if isinstance(obj, Exchange):
        return (
            "an exchange's type, flags and arguments cannot change in place; delete it "
            "(mqctl topology delete) and apply again, or use a policy for alternate-exchange"
        )
    return "this property cannot change in place"


def _changed_arguments(diffs: list[FieldDiff]) -> set[str]:
    names: set[str] = set()
    for d in diffs:
        head, _, key = d.field.partition(".")
        names.add(key if head == "arguments" else f"<{head}>")
    return names


def _prune(
    desired: Topology, actual: Topology, owned: list[str], prefix: str | None
) -> list[Change]:
    owned_set = set(owned)
    result: list[Change] = []
    for cls in PRUNABLE:
        for obj in actual.of(cls):
            if obj.vhost_name not in owned_set or desired.get(obj.kind, obj.key) is not None:
                continue
            names = _names(obj)
            if any(n in BUILTIN_EXCHANGES or n.startswith("amq.") for n in names[:1]):
                continue
            if isinstance(obj, Binding) and obj.source == "":
                continue
            if prefix is not None and not any(n.startswith(prefix) for n in names):
                continue
            result.append(Change(Action.delete, obj, obj))
    return result


def _names(obj: TopologyObject) -> list[str]:
    if isinstance(obj, Binding):
        return [obj.source, obj.destination]
    return [obj.key[-1]]


def _missing_vhosts(desired: Topology, facts: BrokerFacts) -> list[str]:
    """Vhosts the files put objects in but neither declare nor find on the broker."""
    declared = {v.name for v in desired.of(Vhost)}
    return [
        name
        for name in desired.vhosts_used()
        if name not in declared and name not in facts.existing_vhosts
    ]


def preflight(
    desired: Topology, actual: Topology, facts: BrokerFacts, *, create_vhosts: bool
) -> list[str]:
    """Everything that would fail half-way, found before anything changes."""
    refusals: list[str] = []
    for name in _missing_vhosts(desired, facts):
        if not create_vhosts:
            way_out = (
                "create it first over http (a file declaring it under vhosts:, applied without "
                "--via amqp), or with rabbitmqctl add_vhost"
                if facts.amqp_only
                else "declare it under vhosts:, create it, or pass --create-vhosts"
            )
            refusals.append(
                f"vhost {name!r} is used by the files but neither declared in them nor present on "
                f"the broker; {way_out}"
            )
    for ex in desired.of(Exchange):
        if ex.type not in facts.exchange_types:
            plugin = PLUGIN_EXCHANGE_TYPES.get(ex.type)
            need = (
                f"it needs the {plugin} plugin, which is not enabled "
                f"(rabbitmq-plugins enable {plugin})"
                if plugin
                else BUILT_IN_LATER.get(ex.type, "no enabled plugin provides it")
            )
            refusals.append(
                f"exchange {ex.name!r} in vhost {ex.vhost!r} has type {ex.type!r}: {need}"
            )
    for param in desired.of(Parameter):
        plugin = PLUGIN_COMPONENTS.get(param.component)
        if plugin and plugin not in facts.enabled_plugins:
            refusals.append(
                f"parameter {param.component}/{param.name!r} in vhost {param.vhost!r} needs the "
                f"{plugin} plugin, which is not enabled (rabbitmq-plugins enable {plugin})"
            )
    declared_users = {u.name for u in desired.of(User)}
    for perm in [*desired.of(Permission), *desired.of(TopicPermission)]:
        if perm.user not in declared_users and perm.user not in facts.existing_users:
            refusals.append(
                f"{perm.title()}: user {perm.user!r} is neither declared in the files nor "
                "present on the broker"
            )
    refusals.extend(_dangling_bindings(desired, actual))
    refusals.extend(
        f"{b.title()}: {UNLISTABLE_BINDING}"
        for b in desired.of(Binding)
        if actual.get(b.kind, b.key) is None and breaks_binding_listing(b)
    )
    return refusals


UNLISTABLE_BINDING = (
    "a binding with arguments whose routing key has a '~' and does not end with one breaks "
    "RabbitMQ's management API (seen on 3.10 and 4.0: every listing of bindings and every "
    "definitions export fail with 500 while it exists); change the key or drop the arguments"
)


def breaks_binding_listing(binding: Binding) -> bool:
    """The management API builds a binding's properties key from its routing key and, when it
    has arguments, a hash of them; on 3.10 that crashes for a key with a '~' that is not at its
    end ('a~b' and '~k' crash, 'k~' and 'a~~' do not)."""
    key = binding.routing_key
    return bool(binding.arguments) and "~" in key and not key.endswith("~")


def _dangling_bindings(desired: Topology, actual: Topology) -> list[str]:
    refusals = []
    for b in desired.of(Binding):
        for kind, name in b.own_ends():
            key = (b.vhost, name)
            if desired.get(kind, key) is None and actual.get(kind, key) is None:
                label = "exchange" if kind == "exchanges" else "queue"
                refusals.append(
                    f"{b.title()}: {label} {name!r} is neither declared in the files nor present "
                    "on the broker"
                )
    return refusals

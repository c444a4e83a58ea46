"""Per-type rules shared by both file formats: what each kind of queue, exchange and policy allows.

Each check returns `Problem`s; `where(name)` gives the location of a field or x-argument so the
message points at the line the user wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mqctl.topology.loader import Problem
from mqctl.topology.model import Binding, Exchange, Loc, Policy, Queue, Vhost

Where = Callable[[str], Loc]

QUEUE_TYPES = ("classic", "quorum", "stream")
BUILTIN_EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
POLICY_TARGETS = ("all", "queues", "exchanges", "classic_queues", "quorum_queues", "streams")
_MAX_AGE = re.compile(r"^[0-9]+(Y|M|D|h|m|s)$")


def _int_at_least(low: int, high: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        if ok and (high is None or value <= high):
            return None
        return f"a whole number from {low}" + (f" to {high}" if high is not None else " up")

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else ", ".join(choices)

    return check


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "a text"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _age(value: Any) -> str | None:
    ok = isinstance(value, str) and _MAX_AGE.match(value)
    return None if ok else "a number and a unit Y, M, D, h, m or s, e.g. 7D"


def _whole(low: int, high: int | None = None) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        number["maximum"] = high
    return {"anyOf": [number, {"$ref": "#/$defs/interpolated"}]}


@dataclass(frozen=True)
class QueueArgument:
    """A common x-argument: its YAML key, its check, the queue types that accept it, and its
    JSON Schema (for the generated schema.json)."""

    key: str
    argument: str
    check: Callable[[Any], str | None]
    types: tuple[str, ...]
    schema: dict[str, Any]


_CQ = ("classic", "quorum")
_OVERFLOW = ("drop-head", "reject-publish", "reject-publish-dlx")
_MODES = ("default", "lazy")
_LOCATORS = ("client-local", "balanced")
QUEUE_ARGUMENTS = (
    QueueArgument("message_ttl", "x-message-ttl", _int_at_least(0), _CQ, _whole(0)),
    QueueArgument("expires", "x-expires", _int_at_least(1), _CQ, _whole(1)),
    QueueArgument("max_length", "x-max-length", _int_at_least(0), _CQ, _whole(0)),
    QueueArgument(
        "max_length_bytes", "x-max-length-bytes", _int_at_least(0), QUEUE_TYPES, _whole(0)
    ),
    QueueArgument("overflow", "x-overflow", _one_of(*_OVERFLOW), _CQ, {"enum": list(_OVERFLOW)}),
    QueueArgument("dead_letter_exchange", "x-dead-letter-exchange", _text, _CQ, {"type": "string"}),
    QueueArgument(
        "dead_letter_routing_key", "x-dead-letter-routing-key", _text, _CQ, {"type": "string"}
    ),
    QueueArgument(
        "max_priority", "x-max-priority", _int_at_least(1, 255), ("classic",), _whole(1, 255)
    ),
    QueueArgument("delivery_limit", "x-delivery-limit", _int_at_least(0), ("quorum",), _whole(0)),
    QueueArgument(
        "queue_mode", "x-queue-mode", _one_of(*_MODES), ("classic",), {"enum": list(_MODES)}
    ),
    QueueArgument(
        "single_active_consumer",
        "x-single-active-consumer",
        _flag,
        _CQ,
        {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/interpolated"}]},
    ),
    QueueArgument(
        "max_age",
        "x-max-age",
        _age,
        ("stream",),
        {"type": "string", "pattern": _MAX_AGE.pattern},
    ),
    # On a cluster: how many nodes hold a quorum queue's or a stream's replicas when it is
    # created (default: every node, up to the broker's limit), and where a queue's leader goes
    # (classic queues too, from 4.0). Fixed at creation.
    QueueArgument(
        "initial_group_size",
        "x-quorum-initial-group-size",
        _int_at_least(1),
        ("quorum",),
        _whole(1),
    ),
    QueueArgument(
        "initial_cluster_size",
        "x-initial-cluster-size",
        _int_at_least(1),
        ("stream",),
        _whole(1),
    ),
    QueueArgument(
        "leader_locator",
        "x-queue-leader-locator",
        _one_of(*_LOCATORS),
        QUEUE_TYPES,
        {"enum": list(_LOCATORS)},
    ),
)
QUEUE_ARGUMENT_BY_KEY = {a.key: a for a in QUEUE_ARGUMENTS}
QUEUE_ARGUMENT_BY_NAME = {a.argument: a for a in QUEUE_ARGUMENTS}


def check_queue(queue: Queue, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    qtype = queue.arguments.get("x-queue-type", "classic")
    known_type = qtype in QUEUE_TYPES
    if not known_type:  # reported, and the arguments are still checked: every problem at once
        problems.append(
            Problem(where("type"), f"unknown queue type {qtype!r}", ", ".join(QUEUE_TYPES))
        )
    if qtype in ("quorum", "stream"):
        if not queue.durable:
            problems.append(
                Problem(where("durable"), f"a {qtype} queue must be durable", "durable: true")
            )
        if queue.auto_delete:
            problems.append(
                Problem(
                    where("auto_delete"),
                    f"a {qtype} queue cannot be auto-delete",
                    "auto_delete: false",
                )
            )
    for name, value in queue.arguments.items():
        known = QUEUE_ARGUMENT_BY_NAME.get(name)
        if known is None:
            continue
        if known_type and qtype not in known.types:
            problems.append(
                Problem(
                    where(name),
                    f"{known.key} ({name}) does not apply to a {qtype} queue",
                    f"{', '.join(known.types)} queues",
                )
            )
            continue
        expected = known.check(value)
        if expected is not None:
            problems.append(Problem(where(name), f"{known.key} ({name}) is {value!r}", expected))
        if name == "x-overflow" and qtype == "quorum" and value == "reject-publish-dlx":
            problems.append(
                Problem(
                    where(name),
                    "quorum queues do not support reject-publish-dlx",
                    "drop-head, reject-publish",
                )
            )
    return problems


def check_exchange(exchange: Exchange, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    if not exchange.name:
        problems.append(Problem(where("name"), 'the default exchange ("") cannot be declared'))
    elif exchange.name.startswith("amq."):
        problems.append(
            Problem(
                where("name"),
                f"exchange names starting with 'amq.' are reserved: {exchange.name!r}",
            )
        )
    if exchange.type not in BUILTIN_EXCHANGE_TYPES and not exchange.type.startswith("x-"):
        problems.append(
            Problem(
                where("type"),
                f"unknown exchange type {exchange.type!r}",
                "direct, fanout, topic, headers, or a plugin type starting with x-",
            )
        )
    ae = exchange.arguments.get("alternate-exchange")
    if ae is not None and not isinstance(ae, str):
        problems.append(
            Problem(where("alternate-exchange"), "alternate_exchange must be a name", "a text")
        )
    return problems


def check_binding(binding: Binding, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    if binding.source == "":
        problems.append(
            Problem(
                where("source"),
                "bindings to the default exchange are implicit and cannot be declared",
                "a named exchange",
            )
        )
    if binding.destination_type not in ("queue", "exchange"):
        problems.append(
            Problem(
                where("destination_type"),
                f"unknown destination type {binding.destination_type!r}",
                "queue, exchange",
            )
        )
    if not binding.destination:
        problems.append(Problem(where("destination"), "a binding needs a destination"))
    match = binding.arguments.get("x-match")
    if match is not None and match not in ("all", "any", "all-with-x", "any-with-x"):
        problems.append(
            Problem(where("x-match"), f"x-match is {match!r}", "all, any, all-with-x, any-with-x")
        )
    return problems


def check_policy(policy: Policy, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    try:
        re.compile(policy.pattern)
    except re.error as exc:
        problems.append(
            Problem(
                where("pattern"), f"pattern {policy.pattern!r} is not a regular expression: {exc}"
            )
        )
    if policy.apply_to not in POLICY_TARGETS:
        problems.append(
            Problem(
                where("apply_to"), f"apply_to is {policy.apply_to!r}", ", ".join(POLICY_TARGETS)
            )
        )
    if not policy.definition:
        problems.append(Problem(where("definition"), "a policy needs a non-empty definition"))
    return problems


def check_vhost(vhost: Vhost, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    # Not `in (None, *QUEUE_TYPES)`: mypyc (tools/build_mypyc.py) cannot compile that.
    if vhost.default_queue_type is not None and vhost.default_queue_type not in QUEUE_TYPES:
        problems.append(
            Problem(
                where("default_queue_type"),
                f"default_queue_type is {vhost.default_queue_type!r}",
                ", ".join(QUEUE_TYPES),
            )
        )
    for name, value in (vhost.limits or {}).items():
        if name not in ("max-connections", "max-queues"):
            problems.append(
                Problem(
                    where("limits"), f"unknown vhost limit {name!r}", "max_connections, max_queues"
                )
            )
        elif not isinstance(value, int) or isinstance(value, bool) or value < -1:
            problems.append(
                Problem(
                    where("limits"), f"limit {name} is {value!r}", "a whole number, -1 for none"
                )
            )
    return problems

"""What a policy's (and an operator policy's) definition may hold: known keys, value types and
ranges, checked offline so that apply never half-applies on a value the broker then refuses.

The keys are RabbitMQ 3.10-4.x's; which of them a version removed or deprecated is
`mqctl.topology.versions`' business (validate --target, and plan against the live broker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mqctl.topology.loader import Problem
from mqctl.topology.model import Loc, OperatorPolicy, Policy
from mqctl.topology.rules import _age, _int_at_least, _one_of, _text

Check = Callable[[Any], str | None]


def _ha_params(value: Any) -> str | None:
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )
    return None if ok else "a whole number from 1 (ha-mode exactly) or a list of node names"


DEFINITION_KEYS: dict[str, Check] = {
    "message-ttl": _int_at_least(0),
    "expires": _int_at_least(1),
    "max-length": _int_at_least(0),
    "max-length-bytes": _int_at_least(0),
    "overflow": _one_of("drop-head", "reject-publish", "reject-publish-dlx"),
    "dead-letter-exchange": _text,
    "dead-letter-routing-key": _text,
    "dead-letter-strategy": _one_of("at-most-once", "at-least-once"),
    "delivery-limit": _int_at_least(-1),
    "max-age": _age,
    "stream-max-segment-size-bytes": _int_at_least(1),
    "queue-mode": _one_of("default", "lazy"),
    "queue-version": _int_at_least(1, 2),
    "queue-master-locator": _one_of("min-masters", "client-local", "random"),
    "queue-leader-locator": _one_of("client-local", "balanced"),
    "consumer-timeout": _int_at_least(1),
    "target-group-size": _int_at_least(1),
    "alternate-exchange": _text,
    "federation-upstream": _text,
    "federation-upstream-set": _text,
    "ha-mode": _one_of("all", "exactly", "nodes"),
    "ha-params": _ha_params,
    "ha-sync-mode": _one_of("manual", "automatic"),
    "ha-sync-batch-size": _int_at_least(1),
    "ha-promote-on-shutdown": _one_of("when-synced", "always"),
    "ha-promote-on-failure": _one_of("when-synced", "always"),
    "max-in-memory-length": _int_at_least(0),
    "max-in-memory-bytes": _int_at_least(0),
}
# Operator policies may set only these (RabbitMQ refuses the others there).
OPERATOR_KEYS = frozenset(
    {
        "expires",
        "message-ttl",
        "max-length",
        "max-length-bytes",
        "max-in-memory-length",
        "max-in-memory-bytes",
        "delivery-limit",
        "overflow",
        "target-group-size",
        "queue-version",
    }
)


def check_definition(policy: Policy, where: Callable[[str], Loc]) -> list[Problem]:
    problems: list[Problem] = []
    operator = isinstance(policy, OperatorPolicy)
    allowed = sorted(OPERATOR_KEYS) if operator else sorted(DEFINITION_KEYS)
    for key, value in policy.definition.items():
        check = DEFINITION_KEYS.get(key)
        if check is None or (operator and key not in OPERATOR_KEYS):
            what = "an operator policy" if operator else "a policy"
            problems.append(
                Problem(
                    where(key), f"unknown key {key!r} in {what}'s definition", ", ".join(allowed)
                )
            )
            continue
        expected = check(value)
        if expected is not None:
            problems.append(Problem(where(key), f"{key} is {value!r}", expected))
    return problems

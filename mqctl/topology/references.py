"""Alternate and dead-letter exchanges that point at nothing: not an error for the broker, which
then silently drops what would have gone there, so they are warned about."""

from __future__ import annotations

from mqctl.topology.model import (
    BUILTIN_EXCHANGES,
    Exchange,
    OperatorPolicy,
    Policy,
    Queue,
    Topology,
    TopologyObject,
)

AE = "alternate exchange"
DLX = "dead-letter exchange"
DROPPED = {AE: "unroutable messages are dropped", DLX: "dead-lettered messages are dropped"}


def _targets(obj: TopologyObject) -> list[tuple[str, str]]:
    """(role, exchange name) of what `obj` points at."""
    if isinstance(obj, Exchange):
        return [(AE, obj.alternate_exchange)] if obj.alternate_exchange else []
    if isinstance(obj, Queue):
        dlx = obj.dead_letter_exchange
        return [(DLX, dlx)] if dlx else []  # "" is the default exchange
    if isinstance(obj, Policy):
        found = []
        for key, role in (("alternate-exchange", AE), ("dead-letter-exchange", DLX)):
            value = obj.definition.get(key)
            if isinstance(value, str) and value:
                found.append((role, value))
        return found
    return []


def dangling(topology: Topology, *others: Topology, nowhere: str) -> list[str]:
    """A warning for each AE or DLX of `topology` that names an exchange neither it nor any of
    `others` (the broker's state) has; `nowhere` says where it was looked for."""
    warnings = []
    for obj in [
        *topology.of(Exchange),
        *topology.of(Queue),
        *topology.of(Policy),
        *topology.of(OperatorPolicy),
    ]:
        vhost = obj.vhost_name or "/"
        for role, name in _targets(obj):
            if name in BUILTIN_EXCHANGES:
                continue
            key = (vhost, name)
            if any(t.get("exchanges", key) is not None for t in (topology, *others)):
                continue
            warnings.append(f"{obj.title()}: its {role} {name!r} is {nowhere}; {DROPPED[role]}")
    return warnings

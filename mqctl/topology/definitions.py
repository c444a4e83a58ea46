"""RabbitMQ's definitions JSON <-> model objects.

Reading is lenient about what real files contain (tags as a text or a list, missing sections,
`metadata` on vhosts, extra keys from newer brokers) and strict about values that would fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from mqctl.topology.fields import Fields, items
from mqctl.topology.kinds import KINDS
from mqctl.topology.kinds.base import Located, ReadContext, locator
from mqctl.topology.kinds.routing import binding_definition, exchange_definition, queue_definition
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import Loc, Topology, TopologyObject, Vhost

__all__ = [
    "binding_definition",
    "exchange_definition",
    "from_broker",
    "parse_definitions",
    "queue_definition",
    "to_definitions",
]
# Keys the broker's exports carry besides the sections.
MARKERS = frozenset({"rabbit_version", "rabbitmq_version", "product_name", "product_version"})
# ... and those 4.x's per-vhost export adds (it says so in rabbitmq_definition_format): the
# vhost's own record (4.0.5's with its default_queue_type), and the name it came from.
SINGLE_VHOST_MARKERS = frozenset(
    {
        "rabbitmq_definition_format",
        "original_vhost_name",
        "explanation",
        "description",
        "metadata",
        "limits",
        "default_queue_type",
    }
)
DEFINITIONS_TOP_KEYS = MARKERS | {kind.section for kind in KINDS}
# Vhost limits travel as parameters of this component in definitions files; mqctl keeps them on
# the vhost.
VHOST_LIMITS = "vhost-limits"


def parse_definitions(
    data: Any, path: str, problems: list[Problem], default_vhost: str | None = None
) -> list[Located]:
    """Objects of a definitions file; those without a `vhost` key (a per-vhost export, as
    GET /api/definitions/{vhost} writes) go to `default_vhost` when one is given, else to the
    vhost a 4.x export names as its origin."""
    if not isinstance(data, LMap):
        problems.append(Problem(Loc(path, 1, 1), "a definitions file must be a JSON object"))
        return []
    allowed = DEFINITIONS_TOP_KEYS
    if data.get("rabbitmq_definition_format") == "single_virtual_host":  # 4.x, one vhost
        allowed = allowed | SINGLE_VHOST_MARKERS
    Fields(data, "a definitions file", allowed, problems)  # "queus" is an error
    per_vhost = "vhosts" not in data  # as GET /api/definitions/{vhost} writes it
    origin = data.get("original_vhost_name")
    if per_vhost and default_vhost is None and isinstance(origin, str):
        default_vhost = origin
    ctx = ReadContext(problems, default_vhost=default_vhost, vhost_required=True)
    if per_vhost and default_vhost is not None:
        # Like RabbitMQ's POST /api/definitions/{vhost}: every object goes to that vhost, also
        # those (policies) that still name the vhost they were exported from.
        ctx = ReadContext(problems, default_vhost=default_vhost, override_vhost=True)
    out: list[Located] = []
    vhost_limits: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        section = kind.section
        for item in items(data.get(section), section, data.loc_of(section), problems):
            obj, where = kind.read_definitions(item, ctx)
            value = getattr(obj, "value", None)
            if getattr(obj, "component", None) == VHOST_LIMITS and isinstance(value, dict):
                vhost_limits[obj.vhost_name or ""] = {
                    k: v for k, v in value.items() if isinstance(v, int)
                }
                continue
            out.append((obj, where))
    if vhost_limits:
        out = [
            (replace(obj, limits=vhost_limits[obj.name]), where)
            if isinstance(obj, Vhost) and obj.name in vhost_limits
            else (obj, where)
            for obj, where in out
        ]
        declared = {obj.name for obj, _ in out if isinstance(obj, Vhost)}
        for name in vhost_limits.keys() - declared:
            out.append((Vhost(name=name, limits=vhost_limits[name], loc=data.loc), locator(data)))
    return out


def from_broker(document: dict[str, Any]) -> Iterator[TopologyObject]:
    """Objects from definitions JSON the broker itself produced: trusted, so read directly.

    This is the hot path of `plan` against a large vhost (thousands of objects), hence no
    locations and no per-field checks.
    """
    for kind in KINDS:
        read = kind.read_broker
        for record in document.get(kind.section, ()):
            yield read(record)


def to_definitions(topology: Topology, *, include_users: bool = False) -> dict[str, Any]:
    """The topology as RabbitMQ definitions JSON. Users (and their hashes) only when asked."""
    result: dict[str, Any] = {}
    for kind in KINDS:
        section = kind.section
        if section == "users" and not include_users:
            continue
        objects = topology.objects[section].values()
        if section == "operator_policies" and not objects:
            continue  # written only when there are some
        result[section] = [kind.write_definitions(obj) for obj in objects]
    result["parameters"] += [
        {"vhost": v.name, "component": VHOST_LIMITS, "name": "limits", "value": v.limits}
        for v in topology.of(Vhost)
        if v.limits
    ]
    return result

"""The registry of topology kinds: one descriptor each (see `base.Kind`), in creation order.

Deletion goes the other way. Adding a kind is a model class, a descriptor here, and tests.
"""

from __future__ import annotations

from mqctl.topology.kinds.access import PERMISSION, TOPIC_PERMISSION, USER
from mqctl.topology.kinds.base import Kind
from mqctl.topology.kinds.parameters import GLOBAL_PARAMETER, PARAMETER
from mqctl.topology.kinds.policies import OPERATOR_POLICY, POLICY
from mqctl.topology.kinds.routing import BINDING, EXCHANGE, QUEUE
from mqctl.topology.kinds.vhost import KIND as VHOST

KINDS: tuple[Kind, ...] = (
    VHOST,
    USER,
    PERMISSION,
    TOPIC_PERMISSION,
    POLICY,
    OPERATOR_POLICY,
    GLOBAL_PARAMETER,
    EXCHANGE,
    QUEUE,
    BINDING,
    PARAMETER,  # shovels and federation declare or consume queues: after them
)
BY_SECTION: dict[str, Kind] = {kind.section: kind for kind in KINDS}


def kind_of(section: str) -> Kind:
    return BY_SECTION[section]


__all__ = ["BY_SECTION", "KINDS", "Kind", "kind_of"]

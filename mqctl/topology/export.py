"""The live broker as a topology, and a topology as mqctl's YAML format (the loader's inverse).

`to_document()` writes each object with its kind's YAML writer (`mqctl.topology.kinds`): friendly
keys (`message_ttl`, `alternate_exchange`, `to_queue`) where the value is one the format accepts,
anything else in `arguments`, so that loading the document gives back exactly the same objects.
"""

from __future__ import annotations

from typing import Any, Protocol

from mqctl.errors import AccessRefused
from mqctl.topology.kinds import BY_SECTION
from mqctl.topology.model import Permission, Queue, TopicPermission, Topology, User, Vhost

FORMAT_MARK = "mqctl-topology"
# The sections in the order a person reads them: vhosts, then what routes, then who may.
EXPORT_ORDER = tuple(
    BY_SECTION[section]
    for section in (
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
)


class StateReader(Protocol):
    def facts(self, desired: Topology | None = None, *, with_users: bool = True) -> Any: ...

    def read_vhosts(self, vhosts: list[str], *, all_users: bool = False) -> Topology: ...


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
    state = reader.read_vhosts(vhosts, all_users=with_users)
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
    typed_vhosts = {
        v.name for v in topology.of(Vhost) if v.default_queue_type not in (None, "classic")
    }
    for kind in EXPORT_ORDER:
        entries = []
        for obj in topology.objects[kind.section].values():
            body = kind.write_yaml(obj)
            if isinstance(obj, Queue) and obj.vhost in typed_vhosts and "type" not in body:
                body = {"name": body.pop("name"), "type": "classic", **body}  # not the default
            vhost = obj.vhost_name
            entries.append(body if vhost is None or vhost == default else {**body, "vhost": vhost})
        if entries:
            doc[kind.section] = entries
    return doc

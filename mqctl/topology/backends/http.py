"""The management API backend: reads the broker's state in a few requests and carries out changes.

Reading: per vhost involved, one GET of /api/definitions/{vhost} and one of /api/exchanges/{vhost}
(vhost_state.py says why), plus one request each for vhosts, limits, users, permissions and
operator policies — never one per object; once the vhosts are known, side by side
(management_reads.py). Creating many exchanges, queues and bindings goes
through the broker's vhost-scoped definitions import in one request per vhost, after mqctl's own
plan and checks; everything else is one request per object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mqctl.management import ManagementClient
from mqctl.management_reads import ParallelReads
from mqctl.topology.backends.usage import UsageMap, passive_usage, with_unacked
from mqctl.topology.backends.vhost_state import read_definitions, read_exchanges, vhost_sections
from mqctl.topology.definitions import from_broker
from mqctl.topology.kinds import BY_SECTION
from mqctl.topology.model import GlobalParameter, Queue, Topology, TopologyObject, User
from mqctl.topology.plan import BrokerFacts

SOURCE = "<broker>"
_NOT_PARAMETERS = frozenset({"vhost-limits", "operator_policy"})
IMPORT_TIMEOUT = 600.0


class HttpBackend:
    name = "http"
    lists_bindings = True

    def __init__(self, client: ManagementClient, *, create_over_amqp: bool = False) -> None:
        self.client = client
        # `--via auto`: create exchanges, queues and bindings over AMQP when that reaches this
        # very broker (see same_broker.py); the import otherwise.
        self.create_over_amqp = create_over_amqp

    # --- reading ---------------------------------------------------------------------------

    def facts(self, desired: Topology | None = None, *, with_users: bool = True) -> BrokerFacts:
        """Exchange types, plugins, vhosts and users; on a client of its own, so that it can run
        beside `read_state` (make_plan does both at once)."""
        with ManagementClient(self.client.settings, self.client.timeout) as client:
            overview = client.get("overview", params={"columns": "exchange_types"})
            nodes = client.get("nodes", params={"columns": "name,enabled_plugins"})
            plugins = {p for node in nodes or [] for p in node.get("enabled_plugins", [])}
            vhosts = {v["name"] for v in client.get("vhosts", params={"columns": "name"})}
            users: set[str] = set()
            if with_users:
                users = {u["name"] for u in client.get("users", params={"columns": "name"})}
        return BrokerFacts(
            exchange_types=frozenset(t["name"] for t in overview.get("exchange_types", [])),
            enabled_plugins=frozenset(plugins),
            existing_vhosts=frozenset(vhosts),
            existing_users=frozenset(users),
        )

    def read_state(self, desired: Topology) -> Topology:
        """What the broker has of what `desired` is about: everything in the vhosts it uses, and
        the users and global parameters it names."""
        return self.read_vhosts(
            desired.vhosts_used(),
            user_names=[u.name for u in desired.of(User)],
            global_names=[g.name for g in desired.of(GlobalParameter)],
        )

    def read_vhosts(
        self,
        vhosts: Iterable[str],
        *,
        user_names: Iterable[str] = (),
        global_names: Iterable[str] = (),
        all_users: bool = False,
    ) -> Topology:
        """The broker's objects in `vhosts` (those that exist), plus the named users/parameters."""
        wanted = list(dict.fromkeys(vhosts))
        all_vhosts = {v["name"]: v for v in self.client.get("vhosts")}
        present = [name for name in wanted if name in all_vhosts]
        names = set(user_names)
        globals_wanted = set(global_names)
        # the rest depends only on which vhosts exist: side by side (see management_reads.py)
        with ParallelReads(self.client) as reads:
            limits_read = reads.get("vhost-limits")
            vhost_reads = [
                (
                    name,
                    reads.submit(read_definitions, name),
                    reads.submit(read_exchanges, name),
                    reads.get("operator-policies", name),
                )
                for name in present
            ]
            permissions_read = reads.get("permissions")
            topic_permissions_read = reads.get("topic-permissions")
            if names or all_users:
                user_limits_read = reads.get("user-limits")
                users_read = reads.get("users")
            if globals_wanted:
                globals_read = reads.get("global-parameters")
        limits = {item["vhost"]: item.get("value", {}) for item in limits_read.result()}
        document: dict[str, Any] = {
            "vhosts": [
                {**_vhost_record(all_vhosts[name]), "limits": limits.get(name, {})}
                for name in present
            ],
            "queues": [],
            "exchanges": [],
            "bindings": [],
            "policies": [],
            "operator_policies": [],
            "parameters": [],
        }
        for name, definitions_read, exchanges_read, operator_policies_read in vhost_reads:
            definitions = vhost_sections(
                definitions_read.result(), exchanges_read.result(), all_vhosts[name]
            )
            for section in ("queues", "exchanges", "bindings", "policies", "parameters"):
                for item in definitions.get(section, []):
                    item["vhost"] = name  # vhost-scoped exports leave it out
                    # Limits and operator policies come back as parameters too; mqctl keeps
                    # them as their own kinds (read below).
                    if section == "parameters" and item.get("component") in _NOT_PARAMETERS:
                        continue
                    document[section].append(item)
            document["operator_policies"].extend(operator_policies_read.result())
        present_set = set(present)
        document["permissions"] = [
            p for p in permissions_read.result() if p["vhost"] in present_set
        ]
        document["topic_permissions"] = [
            p for p in topic_permissions_read.result() if p["vhost"] in present_set
        ]
        if names or all_users:
            user_limits = {u["user"]: u.get("value", {}) for u in user_limits_read.result()}
            document["users"] = [
                {**u, "limits": user_limits.get(u["name"], {})}
                for u in users_read.result()
                if all_users or u["name"] in names
            ]
        if globals_wanted:
            document["global_parameters"] = [
                g for g in globals_read.result() if g["name"] in globals_wanted
            ]
        topology = Topology()
        for obj in from_broker(document):
            topology.add(obj)
        return topology

    def queue_usage(self, queues: list[Queue]) -> UsageMap:
        """(messages, consumers) of the queues that exist: ready messages and consumers from
        passive declares (exact), plus the unacknowledged messages of the API's queue totals
        (see usage.py), one listing per vhost without statistics."""
        passive = passive_usage(self.client.settings, queues)
        unacked: dict[tuple[str, ...], int] = {}
        params = {
            "columns": "name,messages_unacknowledged",
            "disable_stats": "true",
            "enable_queue_totals": "true",
        }
        for vhost in dict.fromkeys(key[0] for key in passive):  # where queues exist
            for item in self.client.stream("queues", vhost, params=params):
                key = (vhost, item["name"])
                if key in passive:
                    unacked[key] = int(item.get("messages_unacknowledged") or 0)
        return with_unacked(passive, unacked)

    # --- changing --------------------------------------------------------------------------

    def bulk_create(self, objects: list[TopologyObject], *, existing: Topology) -> None:
        """Exchanges, queues and bindings: pipelined AMQP declares when allowed and shown to reach
        this broker, else one definitions import per vhost.

        Measured against the alternatives (benchmarks/bench_topology.py): several imports side by
        side, or the import plus keep-alive requests beside it, were slower on this broker; the
        AMQP declares are faster than the import.
        """
        if self.create_over_amqp and self.amqp_can_create(objects):
            from mqctl.topology.backends.amqp import AmqpBackend

            amqp = AmqpBackend(self.client.settings)
            try:
                amqp.bulk_create(objects, existing=existing)
            finally:
                amqp.close()
            return
        self._import(objects)

    def amqp_can_create(self, objects: list[TopologyObject]) -> bool:
        """The AMQP endpoint is this broker, carries every object, and opens every vhost."""
        from mqctl.errors import BadInput
        from mqctl.topology.backends.amqp import AmqpBackend, check_encodable
        from mqctl.topology.backends.same_broker import announced_cluster_name, api_describes

        settings = self.client.settings
        overview = self.client.get("overview", params={"columns": "cluster_name,listeners"})
        if not api_describes(overview or {}, announced_cluster_name(settings), settings.port):
            return False
        try:
            check_encodable(objects)
        except BadInput:
            return False  # JSON carries it: the import will
        wanted = Topology()
        for obj in objects:
            wanted.add(obj)
        # A vhost the connecting user has no permissions in (one apply just created, say).
        opened = AmqpBackend(settings).facts(wanted).existing_vhosts
        return set(wanted.vhosts_used()) <= opened

    def _import(self, objects: list[TopologyObject]) -> None:
        """One definitions import per vhost."""
        by_vhost: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for obj in objects:
            vhost = obj.vhost_name or "/"
            body = by_vhost.setdefault(vhost, {"exchanges": [], "queues": [], "bindings": []})
            body[obj.kind].append(BY_SECTION[obj.kind].write_definitions(obj))
        # An import of thousands of objects can take minutes on a busy broker: its own timeout.
        timeout = max(self.client.timeout, IMPORT_TIMEOUT)
        with ManagementClient(self.client.settings, timeout) as client:
            for vhost, body in by_vhost.items():
                client.post("definitions", vhost, body=body)

    def put(self, obj: TopologyObject) -> None:
        """Create or update one object."""
        BY_SECTION[obj.kind].api_put(self.client, obj)

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None:
        BY_SECTION[obj.kind].api_delete(self.client, obj, if_empty)


def _vhost_record(raw: dict[str, Any]) -> dict[str, Any]:
    meta = raw.get("metadata") or {}
    dqt = raw.get("default_queue_type") or meta.get("default_queue_type")
    return {
        "name": raw["name"],
        "description": raw.get("description") or meta.get("description") or "",
        "tags": raw.get("tags") or meta.get("tags") or [],
        **({"default_queue_type": dqt} if dqt and dqt != "undefined" else {}),
    }

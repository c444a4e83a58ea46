"""The management API backend: reads the broker's state in a few requests and carries out changes.

Reading: one GET of /api/definitions/{vhost} per vhost involved (queues, exchanges, bindings,
policies, parameters), plus one request each for vhosts, limits, users, permissions and operator
policies — never one per object. Creating many exchanges, queues and bindings goes through the
broker's vhost-scoped definitions import in one request per vhost, after mqctl's own plan and
checks; everything else is one request per object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from mqctl.errors import BrokerError
from mqctl.management import ManagementClient
from mqctl.topology.definitions import (
    binding_definition,
    exchange_definition,
    from_broker,
    queue_definition,
)
from mqctl.topology.model import (
    Binding,
    Exchange,
    GlobalParameter,
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
from mqctl.topology.plan import BrokerFacts

SOURCE = "<broker>"
_NOT_PARAMETERS = frozenset({"vhost-limits", "operator_policy"})
IMPORT_TIMEOUT = 600.0


class HttpBackend:
    name = "http"
    lists_bindings = True

    def __init__(self, client: ManagementClient) -> None:
        self.client = client
        self.probe: Topology | None = None

    # --- reading ---------------------------------------------------------------------------

    def facts(self, *, with_users: bool = True) -> BrokerFacts:
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

    def read_state(
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
        limits = {item["vhost"]: item.get("value", {}) for item in self.client.get("vhost-limits")}
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
        for name in present:
            definitions = self._vhost_definitions(name)
            for section in ("queues", "exchanges", "bindings", "policies", "parameters"):
                for item in definitions.get(section, []):
                    item["vhost"] = name  # vhost-scoped exports leave it out
                    # Limits and operator policies come back as parameters too; mqctl keeps
                    # them as their own kinds (read below).
                    if section == "parameters" and item.get("component") in _NOT_PARAMETERS:
                        continue
                    document[section].append(item)
            for item in self.client.get("operator-policies", name):
                document["operator_policies"].append(item)
        present_set = set(present)
        document["permissions"] = [
            p for p in self.client.get("permissions") if p["vhost"] in present_set
        ]
        document["topic_permissions"] = [
            p for p in self.client.get("topic-permissions") if p["vhost"] in present_set
        ]
        names = set(user_names)
        if names or all_users:
            user_limits = {u["user"]: u.get("value", {}) for u in self.client.get("user-limits")}
            document["users"] = [
                {**u, "limits": user_limits.get(u["name"], {})}
                for u in self.client.get("users")
                if all_users or u["name"] in names
            ]
        globals_wanted = set(global_names)
        if globals_wanted:
            document["global_parameters"] = [
                g for g in self.client.get("global-parameters") if g["name"] in globals_wanted
            ]
        topology = Topology()
        for obj in from_broker(document):
            topology.add(obj)
        return topology

    def _vhost_definitions(self, vhost: str) -> Any:
        try:
            return self.client.get("definitions", vhost)
        except BrokerError as exc:
            if exc.reply_code != 500:
                raise
            raise BrokerError(
                str(exc),
                "the broker's log names the cause; one known cause (RabbitMQ 3.10) is a binding "
                "with arguments and a '~' inside its routing key: remove it with mqctl topology "
                "delete --via amqp FILE, FILE declaring just that binding",
                reply_code=500,
            ) from None

    def queue_usage(self, vhost: str, name: str) -> tuple[int, int]:
        """(messages, consumers) of one queue, for `--recreate`.

        The API's figures lag by a statistics interval; a passive declare over AMQP is exact for
        ready messages and consumers, and the API adds unacknowledged ones. The larger wins.
        """
        info = self.client.get("queues", vhost, name)
        messages, consumers = int(info.get("messages") or 0), int(info.get("consumers") or 0)
        from mqctl.amqp_connection import open_connection  # pika only when recreating

        connection = open_connection(replace(self.client.settings, vhost=vhost))
        try:
            ok = connection.channel().queue_declare(name, passive=True)
            messages = max(messages, int(ok.method.message_count))
            consumers = max(consumers, int(ok.method.consumer_count))
        finally:
            connection.close()
        return messages, consumers

    # --- changing --------------------------------------------------------------------------

    def bulk_create(self, objects: list[TopologyObject]) -> None:
        """Exchanges, queues and bindings: one definitions import per vhost.

        Measured against the alternatives (benchmarks/bench_topology.py): several imports side by
        side, or the import plus keep-alive requests beside it, were slower on this broker.
        """
        by_vhost: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for obj in objects:
            vhost = obj.vhost_name or "/"
            body = by_vhost.setdefault(vhost, {"exchanges": [], "queues": [], "bindings": []})
            if isinstance(obj, Exchange):
                body["exchanges"].append(exchange_definition(obj))
            elif isinstance(obj, Queue):
                body["queues"].append(queue_definition(obj))
            elif isinstance(obj, Binding):
                body["bindings"].append(binding_definition(obj))
        # An import of thousands of objects can take minutes on a busy broker: its own timeout.
        timeout = max(self.client.timeout, IMPORT_TIMEOUT)
        with ManagementClient(self.client.settings, timeout) as client:
            for vhost, body in by_vhost.items():
                client.post("definitions", vhost, body=body)

    def put(self, obj: TopologyObject) -> None:
        """Create or update one object."""
        c = self.client
        if isinstance(obj, Vhost):
            body: dict[str, Any] = {}
            if obj.description is not None:
                body["description"] = obj.description
            if obj.tags is not None:
                body["tags"] = ",".join(obj.tags)
            if obj.default_queue_type:
                # 3.10-3.12 read `defaultqueuetype`; later versions `default_queue_type`.
                body["defaultqueuetype"] = obj.default_queue_type
                body["default_queue_type"] = obj.default_queue_type
            c.put("vhosts", obj.name, body=body)
            if obj.limits is not None:
                self._limits("vhost-limits", obj.name, obj.limits)
        elif isinstance(obj, User):
            body = {"tags": ",".join(obj.tags)}
            if obj.password is not None:
                body["password"] = obj.password
            elif obj.password_hash is not None:
                body["password_hash"] = obj.password_hash
                if obj.hashing_algorithm:
                    body["hashing_algorithm"] = obj.hashing_algorithm
            else:
                body["password_hash"] = ""  # no password: certificate / external auth only
            c.put("users", obj.name, body=body)
            if obj.limits is not None:
                self._limits("user-limits", obj.name, obj.limits)
        elif isinstance(obj, Permission):
            c.put("permissions", obj.vhost, obj.user, body=obj.fields())
        elif isinstance(obj, TopicPermission):
            c.put(
                "topic-permissions",
                obj.vhost,
                obj.user,
                body={"exchange": obj.exchange, **obj.fields()},
            )
        elif isinstance(obj, Policy):
            path = "operator-policies" if isinstance(obj, OperatorPolicy) else "policies"
            c.put(
                path,
                obj.vhost,
                obj.name,
                body={
                    "pattern": obj.pattern,
                    "definition": obj.definition,
                    "priority": obj.priority,
                    "apply-to": obj.apply_to,
                },
            )
        elif isinstance(obj, Parameter):
            c.put("parameters", obj.component, obj.vhost, obj.name, body={"value": obj.value})
        elif isinstance(obj, GlobalParameter):
            c.put("global-parameters", obj.name, body={"name": obj.name, "value": obj.value})
        elif isinstance(obj, Exchange):
            body = exchange_definition(obj)
            c.put("exchanges", obj.vhost, obj.name, body=body)
        elif isinstance(obj, Queue):
            c.put("queues", obj.vhost, obj.name, body=queue_definition(obj))
        elif isinstance(obj, Binding):
            kind = "q" if obj.destination_type == "queue" else "e"
            c.post(
                "bindings",
                obj.vhost,
                "e",
                obj.source,
                kind,
                obj.destination,
                body={"routing_key": obj.routing_key, "arguments": obj.arguments},
            )

    def _limits(self, path: str, owner: str, limits: dict[str, int]) -> None:
        current = {}
        for item in self.client.get(path, owner) or []:
            current.update(item.get("value", {}))
        for name, value in limits.items():
            if current.get(name) != value:
                self.client.put(path, owner, name, body={"value": value})
        for name in current.keys() - limits.keys():
            self.client.delete(path, owner, name)

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None:
        c = self.client
        if isinstance(obj, Vhost):
            c.delete("vhosts", obj.name)
        elif isinstance(obj, User):
            c.delete("users", obj.name)
        elif isinstance(obj, Permission):
            c.delete("permissions", obj.vhost, obj.user)
        elif isinstance(obj, TopicPermission):
            c.delete("topic-permissions", obj.vhost, obj.user)
        elif isinstance(obj, Policy):
            path = "operator-policies" if isinstance(obj, OperatorPolicy) else "policies"
            c.delete(path, obj.vhost, obj.name)
        elif isinstance(obj, Parameter):
            c.delete("parameters", obj.component, obj.vhost, obj.name)
        elif isinstance(obj, GlobalParameter):
            c.delete("global-parameters", obj.name)
        elif isinstance(obj, Exchange):
            c.delete("exchanges", obj.vhost, obj.name)
        elif isinstance(obj, Queue):
            # Quorum queues refuse if-unused; consumers were checked just before (queue_usage).
            params = {"if-empty": "true"} if if_empty else None
            c.delete("queues", obj.vhost, obj.name, params=params)
        elif isinstance(obj, Binding):
            key = self.properties_key(obj)
            if key is not None:
                kind = "q" if obj.destination_type == "queue" else "e"
                c.delete("bindings", obj.vhost, "e", obj.source, kind, obj.destination, key)

    def properties_key(self, binding: Binding) -> str | None:
        """The API's `properties_key` of a binding (routing key plus a hash of its arguments)."""
        kind = "q" if binding.destination_type == "queue" else "e"
        try:
            listed = self.client.get(
                "bindings", binding.vhost, "e", binding.source, kind, binding.destination
            )
        except BrokerError as exc:
            if exc.reply_code == 404:
                return None
            raise
        for item in listed:
            if item.get("routing_key") == binding.routing_key and same_value(
                item.get("arguments") or {}, binding.arguments
            ):
                return str(item["properties_key"])
        return None


def _vhost_record(raw: dict[str, Any]) -> dict[str, Any]:
    meta = raw.get("metadata") or {}
    dqt = raw.get("default_queue_type") or meta.get("default_queue_type")
    return {
        "name": raw["name"],
        "description": raw.get("description") or meta.get("description") or "",
        "tags": raw.get("tags") or meta.get("tags") or [],
        **({"default_queue_type": dqt} if dqt and dqt != "undefined" else {}),
    }

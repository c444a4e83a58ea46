"""What `mqctl list KIND` knows about each kind: one table, one row per kind.

Columns are the management API's own field names, dotted for nested ones
(`message_stats.publish_details.rate`), so that `--format json` gives what the API gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

RATE_COLUMNS = (
    "message_stats.publish_details.rate",
    "message_stats.deliver_get_details.rate",
    "message_stats.ack_details.rate",
)

# Absent from every kind's rows until there has been traffic.
STATS = "message_stats"


@dataclass(frozen=True)
class Kind:
    name: str  # as typed: `mqctl list queues`
    path: str  # the API path below /api/
    columns: tuple[str, ...]  # the default columns
    names: tuple[str, ...] = ("name",)  # the fields `--filter` matches (any of them)
    in_vhost: bool = True  # lives in a vhost: `/api/PATH/VHOST` lists one vhost's
    vhost_path: str | None = None  # the per-vhost path, when it is not PATH/VHOST
    # The API sorts it (`sort`, `sort_reverse`) and pages it (`page`, `page_size`).
    api_sorts: bool = True
    api_pages: bool = False
    # Fields left out unless asked for by name (never in `--columns all`).
    hidden: tuple[str, ...] = ()
    # Only on some brokers; the version that brought it, for the error message.
    since: str | None = None
    # Fields the API gives without its statistics (`disable_stats=true`, which spares it looking
    # up every object's stats), and those it adds from the queues themselves with
    # `enable_queue_totals=true` (both on 3.10 and 4.x). A listing that needs no other field
    # asks for them so; empty: always the full answer.
    without_stats: frozenset[str] = frozenset()
    queue_totals: frozenset[str] = frozenset()
    # What `--sort` may name though the rows seen lack it (a sort by anything else is refused
    # when they do: see listing.check_sort_field): `fields`, the API's fields beyond the columns and names
    # (RabbitMQ 3.10's), and `at_times`, fields it leaves out of some rows at times (stats not yet
    # reported, a queue type or a stopped node without them), globs each vouching for the paths
    # below it too (arguments' keys vary). `message_stats` on every kind.
    fields: tuple[str, ...] = ()
    at_times: tuple[str, ...] = ()

    def vouches_for(self, path: str) -> bool:
        """Rows of this kind have the field at `path`, or may lack it at times."""
        known = (*self.columns, *self.names, *self.hidden, *self.fields)
        if any(field == path or field.startswith(path + ".") for field in known):
            return True
        steps = path.split(".")
        heads = {".".join(steps[: i + 1]) for i in range(len(steps))}
        return any(fnmatchcase(head, glob) for head in heads for glob in (STATS, *self.at_times))

    def segments(self, vhost: str | None) -> tuple[str, ...]:
        """The API path for one vhost (None: every vhost)."""
        if vhost is None or not self.in_vhost:
            return tuple(self.path.split("/"))
        if self.vhost_path is not None:
            return ("vhosts", vhost, self.vhost_path)
        return (*self.path.split("/"), vhost)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "queues",
            "queues",
            (
                "vhost",
                "name",
                "type",
                "state",
                "messages",
                "messages_ready",
                "messages_unacknowledged",
                "consumers",
                *RATE_COLUMNS,
            ),
            api_pages=True,
            # Not `state`: without statistics 3.10 gives its internal one ("live", not "running").
            without_stats=frozenset(
                (
                    "vhost",
                    "name",
                    "type",
                    "durable",
                    "auto_delete",
                    "exclusive",
                    "arguments",
                    "node",
                )
            ),
            queue_totals=frozenset(("messages", "messages_ready", "messages_unacknowledged")),
            fields=("durable", "auto_delete", "exclusive", "node"),
            # Stats come some seconds after a declaration; classic, quorum and stream queues each
            # give fields of their own.
            at_times=(
                "arguments",
                "policy",
                "operator_policy",
                "effective_policy_definition",
                "messages*",
                "message_bytes*",
                "consumer_utilisation",
                "consumer_capacity",
                "exclusive_consumer_tag",
                "single_active_consumer_*",
                "idle_since",
                "head_message_timestamp",
                "memory",
                "reductions*",
                "garbage_collection",
                "backing_queue_status",
                "storage_version",
                "slave_nodes",
                "synchronised_slave_nodes",
                "recoverable_slaves",
                "leader",
                "members",
                "online",
                "open_files",
                "readers",
            ),
        ),
        Kind(
            "exchanges",
            "exchanges",
            ("vhost", "name", "type", "durable", "auto_delete", "internal", "policy"),
            api_pages=True,
            fields=("user_who_performed_action",),
            at_times=("arguments",),
        ),
        Kind(
            "bindings",
            "bindings",
            ("vhost", "source", "destination_type", "destination", "routing_key", "arguments"),
            names=("source", "destination"),
            fields=("properties_key",),
            at_times=("arguments",),
        ),
        Kind(
            "connections",
            "connections",
            (
                "name",
                "vhost",
                "user",
                "state",
                "channels",
                "protocol",
                "client_properties.connection_name",
                "recv_oct_details.rate",
                "send_oct_details.rate",
            ),
            names=("name", "client_properties.connection_name", "user"),
            vhost_path="connections",
            api_pages=True,
            fields=("node", "type", "connected_at", "user_who_performed_action"),
            # Stats come some seconds after the connection opens; direct (in-broker) connections
            # have no socket; client properties are the client's.
            at_times=(
                "client_properties",
                "recv_*",
                "send_*",
                "reductions*",
                "garbage_collection",
                "host",
                "port",
                "peer_*",
                "ssl*",
                "auth_mechanism",
                "timeout",
                "frame_max",
                "channel_max",
                "user_provided_name",
            ),
        ),
        Kind(
            "channels",
            "channels",
            (
                "name",
                "vhost",
                "user",
                "state",
                "consumer_count",
                "prefetch_count",
                "messages_unacknowledged",
                "message_stats.publish_details.rate",
            ),
            vhost_path="channels",
            api_pages=True,
            fields=("number", "node", "connection_details", "user_who_performed_action"),
            # Stats come some seconds after the channel opens.
            at_times=(
                "messages_*",
                "acks_uncommitted",
                "global_prefetch_count",
                "confirm",
                "transactional",
                "idle_since",
                "pending_raft_commands",
                "reductions*",
                "garbage_collection",
            ),
        ),
        Kind(
            "consumers",
            "consumers",
            (
                "queue.vhost",
                "queue.name",
                "consumer_tag",
                "channel_details.name",
                "ack_required",
                "prefetch_count",
                "active",
            ),
            names=("queue.name", "consumer_tag"),
            fields=("exclusive", "activity_status", "channel_details"),
            at_times=("arguments", "consumer_timeout"),
        ),
        Kind(
            "vhosts",
            "vhosts",
            ("name", "description", "tags", "default_queue_type", "messages", "cluster_state"),
            in_vhost=False,
            api_pages=True,
            fields=("metadata", "tracing"),
            # cluster_state's keys are node names; metadata and protection are 3.11's and later.
            at_times=(
                "messages*",
                "recv_oct*",
                "send_oct*",
                "cluster_state",
                "metadata",
                "protected*",
            ),
        ),
        Kind(
            "users",
            "users",
            ("name", "tags", "limits"),
            in_vhost=False,
            hidden=("password_hash",),
            fields=("hashing_algorithm",),
            at_times=("limits",),
        ),
        Kind(
            "permissions",
            "permissions",
            ("vhost", "user", "configure", "write", "read"),
            names=("user",),
            vhost_path="permissions",
        ),
        Kind(
            "policies",
            "policies",
            ("vhost", "name", "pattern", "apply-to", "priority", "definition"),
            at_times=("definition",),  # each policy its own keys
        ),
        Kind(
            "nodes",
            "nodes",
            (
                "name",
                "type",
                "running",
                "mem_used",
                "mem_alarm",
                "disk_free",
                "disk_free_alarm",
                "fd_used",
                "uptime",
            ),
            in_vhost=False,
            # A stopped cluster member's row has its name, type and running alone.
            at_times=(
                "*_details",
                "mem_*",
                "disk_*",
                "fd_*",
                "sockets_*",
                "proc_*",
                "io_*",
                "gc_*",
                "mnesia_*",
                "msg_store_*",
                "queue_*",
                "connection_*",
                "channel_*",
                "context_switches",
                "run_queue",
                "uptime",
                "processors",
                "os_pid",
                "partitions",
                "applications",
                "auth_mechanisms",
                "cluster_links",
                "config_files",
                "contexts",
                "db_dir",
                "enabled_plugins",
                "exchange_types",
                "log_files",
                "net_ticktime",
                "rates_mode",
                "ra_open_file_metrics",
                "metrics_gc_queue_length",
                "being_drained",
            ),
        ),
        Kind(
            "feature-flags",
            "feature-flags",
            ("name", "state", "stability", "provided_by", "desc"),
            in_vhost=False,
            fields=("doc_url",),
            api_sorts=False,
        ),
        Kind(
            "deprecated-features",
            "deprecated-features",
            ("name", "deprecation_phase", "provided_by", "desc"),
            in_vhost=False,
            fields=("doc_url",),
            api_sorts=False,
            since="3.13",
        ),
    )
}

KIND_NAMES = tuple(KINDS)

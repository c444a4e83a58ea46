"""What `mqctl list KIND` knows about each kind: one table, one row per kind.

Columns are the management API's own field names, dotted for nested ones
(`message_stats.publish_details.rate`), so that `--format json` gives what the API gives.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE_COLUMNS = (
    "message_stats.publish_details.rate",
    "message_stats.deliver_get_details.rate",
    "message_stats.ack_details.rate",
)


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
        ),
        Kind(
            "exchanges",
            "exchanges",
            ("vhost", "name", "type", "durable", "auto_delete", "internal", "policy"),
            api_pages=True,
        ),
        Kind(
            "bindings",
            "bindings",
            ("vhost", "source", "destination_type", "destination", "routing_key", "arguments"),
            names=("source", "destination"),
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
        ),
        Kind(
            "vhosts",
            "vhosts",
            ("name", "description", "tags", "default_queue_type", "messages", "cluster_state"),
            in_vhost=False,
            api_pages=True,
        ),
        Kind(
            "users",
            "users",
            ("name", "tags", "limits"),
            in_vhost=False,
            hidden=("password_hash",),
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
        ),
        Kind(
            "feature-flags",
            "feature-flags",
            ("name", "state", "stability", "provided_by", "desc"),
            in_vhost=False,
            api_sorts=False,
        ),
        Kind(
            "deprecated-features",
            "deprecated-features",
            ("name", "deprecation_phase", "provided_by", "desc"),
            in_vhost=False,
            api_sorts=False,
            since="3.13",
        ),
    )
}

KIND_NAMES = tuple(KINDS)

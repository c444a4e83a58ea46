"""close connection NAME | --user U: the broker closes them, telling each client the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mqctl.errors import BadInput, BrokerError, OperationFailed
from mqctl.management import ManagementClient

DEFAULT_REASON = "closed by an operator (mqctl close connection)"
COLUMNS = "name,user,vhost,peer_host,peer_port,client_properties"


@dataclass(frozen=True)
class CloseRequest:
    name: str | None = None  # as `mqctl list connections` shows it
    user: str | None = None  # every connection of this user
    reason: str = DEFAULT_REASON
    dry_run: bool = False


@dataclass
class CloseResult:
    connections: list[dict[str, Any]]  # name, user, vhost of each (to be) closed
    dry_run: bool

    def sentence(self) -> str:
        count = len(self.connections)
        noun = "connection" if count == 1 else "connections"
        verb = "would close" if self.dry_run else "closed"
        return f"{verb} {count} {noun}"


def close_connections(client: ManagementClient, request: CloseRequest) -> CloseResult:
    if (request.name is None) == (request.user is None):
        raise BadInput(
            "name one connection or give --user", "mqctl close connection NAME | --user U"
        )
    if request.name is not None:
        try:
            found = [client.get("connections", request.name)]
        except BrokerError as exc:
            if exc.reply_code != 404:
                raise
            raise OperationFailed(
                f"no connection named {request.name!r}",
                "names are as `mqctl list connections` shows them (quote them: they hold spaces)",
            ) from None
    else:
        found = [
            c
            for c in client.stream("connections", params={"columns": COLUMNS})
            if c.get("user") == request.user
        ]
    targets = [_summary(c) for c in found]
    if not request.dry_run:
        for target in targets:
            try:
                client.delete("connections", target["name"], headers={"X-Reason": request.reason})
            except BrokerError as exc:
                if exc.reply_code != 404:  # gone already: what was asked is true
                    raise
    return CloseResult(targets, request.dry_run)


def _summary(connection: dict[str, Any]) -> dict[str, Any]:
    props = connection.get("client_properties") or {}
    return {
        "name": connection.get("name"),
        "user": connection.get("user"),
        "vhost": connection.get("vhost"),
        "connection_name": props.get("connection_name"),
    }

"""Several nodes of a cluster given for one connection: the first that answers is used.

A node answers when its AMQP port accepts a TCP connection within a short deadline (a stopped
node refuses at once; an unreachable one costs at most the deadline). Nothing is sent.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from mqctl.config import ConnectionSettings
from mqctl.errors import Unreachable

PROBE_TIMEOUT = 2.0


def answers(settings: ConnectionSettings) -> bool:
    timeout = min(settings.connection_timeout, PROBE_TIMEOUT)
    try:
        with socket.create_connection((settings.host, settings.port), timeout=timeout):
            return True
    except OSError:
        return False


def first_answering(nodes: Sequence[ConnectionSettings]) -> ConnectionSettings:
    """The first node whose AMQP port answers; Unreachable (exit 3) naming each when none does.

    A single node is not probed: connecting to it says what is wrong the usual way."""
    if len(nodes) == 1:
        return nodes[0]
    for node in nodes:
        if answers(node):
            return node
    addresses = ", ".join(node.address for node in nodes)
    raise Unreachable(
        f"none of the {len(nodes)} nodes answers: {addresses}",
        "check --url and that RabbitMQ is running on at least one of them",
    )

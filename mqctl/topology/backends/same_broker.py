"""Whether a connection's AMQP endpoint is the broker its management API describes.

`topology apply` (with the default `--via auto`) creates many exchanges, queues and bindings over
AMQP, pipelined, which is faster than the broker's definitions import, but only when both
addresses reach the same broker. Two facts must agree:

- the cluster name the AMQP port announces in its Connection.Start (read with mqctl's own frame
  codec, before any credentials are sent) equals the API's `cluster_name`;
- the API lists an AMQP listener on the port mqctl connects to.

A `wire proxy`, a port forward or another broker that happens to answer on that address fails one
of them, and apply uses the import. The probe opens one TCP connection and closes it after the
broker's first frame (the broker may log a connection closed before its handshake).
"""

from __future__ import annotations

import socket
from typing import Any

from mqctl.config import ConnectionSettings

PROBE_TIMEOUT = 5.0
AMQP_PROTOCOLS = frozenset({"amqp", "amqp/ssl"})


def announced_cluster_name(
    settings: ConnectionSettings, timeout: float = PROBE_TIMEOUT
) -> str | None:
    """The `cluster_name` of the broker's Connection.Start on the AMQP port; None when the port
    does not answer with one (not AMQP, closed, too slow)."""
    from mqctl.wire.decoder import NEED_DATA, FrameDecoder
    from mqctl.wire.encoder import PROTOCOL_HEADER
    from mqctl.wire.frames import FrameError, MethodFrame

    try:
        with socket.create_connection((settings.host, settings.port), timeout) as raw:
            stream: Any = raw
            if settings.uses_tls:
                from mqctl.amqp_connection import ssl_context

                stream = ssl_context(settings.tls).wrap_socket(raw, server_hostname=settings.host)
            stream.sendall(PROTOCOL_HEADER)
            decoder = FrameDecoder()
            while True:
                event = decoder.next_event()
                if event is NEED_DATA:
                    data = stream.recv(65536)
                    if not data:
                        return None
                    decoder.feed(data)
                    continue
                if not isinstance(event, MethodFrame) or event.name != "Connection.Start":
                    return None
                name = event.args.get("server_properties", {}).get("cluster_name")
                return name if isinstance(name, str) else None
    except (OSError, FrameError):
        return None


def api_describes(overview: dict[str, Any], cluster_name: str | None, port: int) -> bool:
    """Whether the API's overview (`cluster_name`, `listeners`) is of the broker that announced
    `cluster_name` on AMQP `port`."""
    if cluster_name is None or overview.get("cluster_name") != cluster_name:
        return False
    return any(
        isinstance(listener, dict)
        and listener.get("protocol") in AMQP_PROTOCOLS
        and listener.get("port") == port
        for listener in overview.get("listeners") or []
    )

"""Opening AMQP connections with pika, and turning pika's exceptions into mqctl's.

Every command that speaks AMQP goes through `open_connection`, so unreachable hosts, refused logins
and unknown vhosts read the same everywhere.
"""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any

import pika
import pika.exceptions
from pika.adapters.utils.connection_workflow import (
    AMQPConnectorException,
    AMQPConnectorStackTimeout,
)

from mqctl import __version__
from mqctl.config import ConnectionSettings, TlsSettings
from mqctl.errors import (
    PROXY_UPSTREAM_UNREACHABLE,
    AccessRefused,
    BrokerError,
    MqctlError,
    Unreachable,
)
from mqctl.tls_failures import answered_without_tls, handshake_hint

# The reply text `wire proxy` closes a client with when its upstream cannot be reached.
_PROXY_REFUSAL = re.compile(re.escape(PROXY_UPSTREAM_UNREACHABLE) + r": (?P<detail>[^'\"]+)")

# AMQP reply codes (spec: constants) with what usually fixes them.
REPLY_HINTS = {
    403: "check the user's permissions on this vhost",
    404: "check the name and the vhost (--vhost)",
    405: "another connection holds it exclusively; stop that consumer or connection",
    406: "the object exists with other properties; compare them (mqctl topology plan)",
    530: "check the vhost name and the user's permissions",
}
# The smallest frame_max RabbitMQ 4.1 and later accept (3.x and 4.0 accept 4096).
MIN_FRAME_MAX_4_1 = 8192
# Hints that the reply text decides, whatever the code: an unknown exchange type closes the
# connection with 503 on 3.x and the channel with 406 on 4.x.
TEXT_HINTS = {
    "unknown exchange type": "no enabled plugin provides this exchange type: enable the plugin "
    "that does (rabbitmq-plugins enable ...) or use a built-in type",
}


def reply_hint(reply_code: int, reply_text: str, hints: dict[int, str] | None = None) -> str | None:
    """What usually fixes a broker's refusal: by its text where that says more, else by its code."""
    for phrase, hint in TEXT_HINTS.items():
        if phrase in reply_text:
            return hint
    return (hints or {}).get(reply_code) or REPLY_HINTS.get(reply_code)


def ssl_context(tls: TlsSettings) -> ssl.SSLContext:
    """A client TLS context: verification on unless `tls.insecure`."""
    context = ssl.create_default_context(cafile=str(tls.ca_cert) if tls.ca_cert else None)
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        context.load_cert_chain(
            str(tls.client_cert), str(tls.client_key) if tls.client_key else None
        )
    return context


def connection_parameters(
    settings: ConnectionSettings, **overrides: Any
) -> pika.ConnectionParameters:
    params: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "virtual_host": settings.vhost,
        "credentials": pika.PlainCredentials(settings.username, settings.password),
        "connection_attempts": 1,
        "socket_timeout": settings.connection_timeout,
        "stack_timeout": settings.connection_timeout,
        "blocked_connection_timeout": 60,
        "client_properties": {
            "product": "mqctl",
            "version": __version__,
            "connection_name": "mqctl",
        },
    }
    if settings.heartbeat is not None:
        params["heartbeat"] = settings.heartbeat
    if settings.frame_max is not None:
        params["frame_max"] = settings.frame_max
    if settings.channel_max is not None:
        params["channel_max"] = settings.channel_max
    if settings.uses_tls:
        try:
            context = ssl_context(settings.tls)
        except (OSError, ssl.SSLError) as exc:
            raise Unreachable(
                f"cannot load TLS files: {exc}", "check --ca-cert/--client-cert/--client-key"
            ) from None
        params["ssl_options"] = pika.SSLOptions(context, server_hostname=settings.host)
    params.update(overrides)
    return pika.ConnectionParameters(**params)


def open_connection(settings: ConnectionSettings, **overrides: Any) -> pika.BlockingConnection:
    """A pika BlockingConnection, or an `Unreachable`/`AccessRefused` saying why not."""
    try:
        return pika.BlockingConnection(connection_parameters(settings, **overrides))
    except (pika.exceptions.AMQPError, AMQPConnectorException, OSError) as exc:
        # pika raises its connector exceptions (a handshake timeout, say) outside AMQPError.
        raise connection_error(exc, settings) from None


def connection_error(exc: BaseException, settings: ConnectionSettings) -> MqctlError:
    """The mqctl error for a failure while connecting or while a connection was open."""
    where = settings.address
    refusal = _PROXY_REFUSAL.search(str(exc))
    if refusal is not None:
        # pika files a close during the handshake as an auth or protocol error: the text says why.
        return Unreachable(
            f"{where} is an mqctl wire proxy whose upstream is unreachable: {refusal['detail']}",
            "start the broker there, or give the proxy the right --upstream",
        )
    if isinstance(
        exc, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError
    ):
        return AccessRefused(
            f"authentication refused for user {settings.username!r} at {where}",
            "check the user name and password (--url or the profile)",
        )
    small_frames = settings.frame_max is not None and settings.frame_max < MIN_FRAME_MAX_4_1
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError) and small_frames:
        # 4.1+ drops the connection while tuning, which pika takes for a refused vhost.
        return AccessRefused(
            f"{where} closed the connection while opening it with frame_max={settings.frame_max}: "
            f"RabbitMQ 4.1 and later refuse a frame_max below {MIN_FRAME_MAX_4_1} (or vhost "
            f"{settings.vhost!r} does not exist, or user {settings.username!r} may not use it)",
            f"give frame_max={MIN_FRAME_MAX_4_1} or more in the URL, or leave it out",
        )
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
        return AccessRefused(
            f"access to vhost {settings.vhost!r} refused at {where}: it does not exist "
            f"or user {settings.username!r} has no permissions on it",
            "check --vhost or the vhost in the URL path (%2f for /)",
        )
    if isinstance(exc, pika.exceptions.ConnectionClosedByBroker):
        return BrokerError(
            f"the broker closed the connection: {exc.reply_code} {exc.reply_text}",
            reply_hint(exc.reply_code, exc.reply_text),
            reply_code=exc.reply_code,
        )
    if isinstance(exc, pika.exceptions.ConnectionBlockedTimeout):
        return BrokerError(
            f"{where} blocked the connection for too long: a resource alarm (memory or disk) is on",
            "see the broker's alarms (rabbitmq-diagnostics alarms) and free memory or disk",
        )
    root = _root_cause(exc)
    if isinstance(exc, pika.exceptions.StreamLostError) and not isinstance(
        root, ssl.SSLError | TimeoutError | socket.timeout
    ):
        return Unreachable(
            f"lost the connection to {where}: {str(root) or type(root).__name__}",
            "check that RabbitMQ is still running, and its log",
        )
    if isinstance(root, socket.gaierror):
        return Unreachable(f"cannot resolve host {settings.host!r}", "check the host name in --url")
    if isinstance(root, ConnectionRefusedError):
        return Unreachable(
            f"connection refused by {where}",
            "is RabbitMQ running there? check the host and port in --url",
        )
    if isinstance(root, AMQPConnectorStackTimeout):
        return Unreachable(
            f"no AMQP answer from {where} within {settings.connection_timeout:g}s",
            "check that this is the broker's AMQP port (5672, 5671 for amqps) and that it is up",
        )
    if isinstance(root, TimeoutError | socket.timeout):
        return Unreachable(
            f"no answer from {where} within {settings.connection_timeout:g}s",
            "check the host, the port and any firewall",
        )
    if isinstance(root, ssl.SSLError):
        reason = str(root.reason or root)
        if answered_without_tls(reason):
            return Unreachable(
                f"{where} did not answer TLS ({reason}): it looks like a plain AMQP port",
                "use amqp:// with this port, or amqps:// with the TLS port (5671 by default)",
            )
        return Unreachable(
            f"TLS handshake with {where} failed: {reason}", handshake_hint(settings.tls.insecure)
        )
    if isinstance(exc, pika.exceptions.IncompatibleProtocolError):
        return Unreachable(
            f"{where} does not speak AMQP 0-9-1", "check the port (5672 for amqp, 5671 for amqps)"
        )
    reason = str(root) or type(root).__name__
    return Unreachable(
        f"cannot connect to {where}: {reason}", "check --url and that RabbitMQ is running"
    )


def channel_error(
    exc: pika.exceptions.ChannelClosedByBroker,
    doing: str,
    hints: dict[int, str] | None = None,
) -> BrokerError:
    """A channel closed by the broker while `doing` something, with the broker's own reply.

    `hints` overrides the generic hint for some reply codes where the caller knows better
    (a 406 while publishing is about a message property, not a declared object).
    """
    hint = reply_hint(exc.reply_code, exc.reply_text, hints)
    return BrokerError(
        f"{doing} failed: {exc.reply_code} {exc.reply_text}", hint, reply_code=exc.reply_code
    )


def _root_cause(exc: BaseException) -> BaseException:
    """pika wraps socket errors a few levels deep in its args; find the innermost."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = next(
            (a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None
        )
        if inner is None:
            inner = getattr(current, "exception", None)
        if inner is None:
            # SelectConnection's workflow failure keeps its attempts in `exceptions`, last last.
            inner = next(reversed(getattr(current, "exceptions", None) or [None]))
        if not isinstance(inner, BaseException):
            return current
        current = inner
    return current

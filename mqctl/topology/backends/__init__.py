"""The two ways to reach a broker: the management API (`http`) and AMQP (`amqp`).

The transports (requests, pika) are imported when a backend is opened: `mqctl --help` and
`mqctl topology validate` start faster without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING

from mqctl.config import ConnectionSettings

if TYPE_CHECKING:
    from mqctl.topology.apply import Backend
    from mqctl.topology.backends.http import HttpBackend


class Via(StrEnum):
    """`auto` is `http` that creates exchanges, queues and bindings over AMQP when the AMQP
    endpoint is shown to be the same broker (faster than the definitions import)."""

    auto = "auto"
    http = "http"
    amqp = "amqp"


@contextmanager
def open_backend(settings: ConnectionSettings, via: Via) -> Iterator[Backend]:
    if via is Via.amqp:
        from mqctl.topology.backends.amqp import AmqpBackend

        amqp = AmqpBackend(settings)
        try:
            yield amqp
        finally:
            amqp.close()
        return
    with http_backend(settings, create_over_amqp=via is Via.auto) as backend:
        yield backend


@contextmanager
def http_backend(
    settings: ConnectionSettings, *, create_over_amqp: bool = False
) -> Iterator[HttpBackend]:
    from mqctl.management import ManagementClient
    from mqctl.topology.backends.http import HttpBackend

    with ManagementClient(settings) as client:
        yield HttpBackend(client, create_over_amqp=create_over_amqp)

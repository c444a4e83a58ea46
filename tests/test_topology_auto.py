"""`--via auto` (the default): exchanges, queues and bindings are created over AMQP only when the
AMQP URL is shown to reach the broker the management API describes; otherwise the import."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqctl.config import ConnectionOptions, ConnectionSettings, resolve
from mqctl.management import ManagementClient
from mqctl.topology.backends.http import HttpBackend
from mqctl.topology.backends.same_broker import announced_cluster_name, api_describes
from mqctl.topology.model import TopologyObject
from mqctl.topology.validate import load_topology
from tests.conftest import AMQP_URL, API_URL
from tests.topology_helpers import Cli, api, definitions, write

pytestmark = pytest.mark.broker


def settings_for(port: int | None = None) -> ConnectionSettings:
    settings = resolve(ConnectionOptions(url=AMQP_URL, api=API_URL))
    if port is None:
        return settings
    url = AMQP_URL.replace(f":{settings.port}/", f":{port}/")
    return resolve(ConnectionOptions(url=url, api=API_URL))


@pytest.fixture
def forwarder() -> Iterator[int]:
    """A plain TCP forwarder on loopback to the broker's AMQP port: the same broker behind
    another address, which the API does not list (as a port forward or a proxy would be)."""
    target = settings_for()
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection((target.host, target.port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(5)


def test_the_amqp_port_announces_the_cluster_the_api_describes() -> None:
    settings = settings_for()
    overview = api("GET", "overview?columns=cluster_name,listeners")
    name = announced_cluster_name(settings)
    assert name == overview["cluster_name"]
    assert api_describes(overview, name, settings.port)


def test_the_same_broker_behind_another_port_is_not_taken_for_it(forwarder: int) -> None:
    overview = api("GET", "overview?columns=cluster_name,listeners")
    name = announced_cluster_name(settings_for(forwarder))
    assert name == overview["cluster_name"]  # it is the same broker, but nothing says so
    assert not api_describes(overview, name, forwarder)


def test_a_port_that_does_not_speak_amqp_announces_nothing() -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]

    def answer_http() -> None:
        client, _ = silent.accept()
        client.recv(8)
        client.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        client.close()

    thread = threading.Thread(target=answer_http, daemon=True)
    thread.start()
    try:
        assert announced_cluster_name(settings_for(port), timeout=5) is None
    finally:
        thread.join(5)
        silent.close()
    assert announced_cluster_name(settings_for(port), timeout=1) is None  # nothing listens now


TOPOLOGY = """
vhost: {vhost}
exchanges:
  - name: orders
    type: topic
queues:
  - name: orders.created
    type: quorum
  - name: orders.all
bindings:
  - from: orders
    to_queue: orders.created
    routing_key: order.created
  - from: orders
    to_queue: orders.all
    routing_key: "#"
"""


def creations(vhost: str, tmp_path: Path) -> list[TopologyObject]:
    topology = load_topology([write(tmp_path / "t.yaml", TOPOLOGY.format(vhost=vhost))])
    return [o for o in topology if o.kind in ("exchanges", "queues", "bindings")]


def test_amqp_creates_only_where_it_reaches_this_broker(
    vhost: str, tmp_path: Path, forwarder: int
) -> None:
    objects = creations(vhost, tmp_path)
    with ManagementClient(settings_for()) as client:
        assert HttpBackend(client, create_over_amqp=True).amqp_can_create(objects)
    with ManagementClient(settings_for(forwarder)) as client:
        assert not HttpBackend(client, create_over_amqp=True).amqp_can_create(objects)


@pytest.mark.parametrize("via", [[], ["--via", "http"]])
def test_apply_by_default_and_over_http_give_the_same_broker_state(
    via: list[str], vhost: str, tmp_path: Path
) -> None:
    cli = Cli()
    path = write(tmp_path / "t.yaml", TOPOLOGY.format(vhost=vhost))
    applied = cli("topology", "apply", str(path), *via)
    assert applied.status == 0, applied.err
    assert applied.err.splitlines()[-1] == ("applied: 5 created, 0 updated, 0 recreated, 0 deleted")
    replanned = cli("topology", "plan", str(path))
    assert replanned.status == 0, replanned.out
    state = definitions(vhost)
    assert sorted(q["name"] for q in state["queues"]) == ["orders.all", "orders.created"]
    assert {q["name"]: q["arguments"].get("x-queue-type") for q in state["queues"]}[
        "orders.created"
    ] == "quorum"
    assert sorted(b["routing_key"] for b in state["bindings"]) == ["#", "order.created"]

"""mqctl against the 3-node RabbitMQ 4.x cluster of scripts/brokers (`scripts/test`'s cluster leg).

The tests run in the cluster's client namespace, where node N answers at MQCTL_TEST_CLUSTER_NODES'
Nth address (AMQP 5672, management 15672). Node 1 is stopped and started again by
`scripts/brokers node stop|start 1`; every test owns its vhost.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import yaml

from tests.conftest import AUTH, ROOT
from tests.run import Run, run_process

pytestmark = [pytest.mark.cluster, pytest.mark.broker]

NODES = os.environ.get("MQCTL_TEST_CLUSTER_NODES", "").split()
BROKERS_SCRIPT = os.environ.get("MQCTL_BROKERS_SCRIPT", str(ROOT / "scripts" / "brokers"))

QUORUM_TOPOLOGY = """\
vhost: {vhost}
exchanges:
  - {{name: orders, type: topic}}
queues:
  - name: orders.process
    type: quorum
    delivery_limit: 5
    arguments: {{x-quorum-initial-group-size: 3}}
bindings:
  - {{from: orders, to_queue: orders.process, routing_key: "order.#"}}
"""


def api_url(node: int) -> str:
    return f"http://{NODES[node - 1]}:15672"


def amqp_url(node: int, vhost: str) -> str:
    return f"amqp://guest:guest@{NODES[node - 1]}:5672/{quote(vhost, safe='')}"


def api(node: int, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, f"{api_url(node)}/api/{path}", json=body, auth=AUTH, timeout=30)


def mqctl(node: int, vhost: str, *args: str, stdin: str | None = None) -> Run:
    """`mqctl ARGS` pointed at one node (its AMQP URL and its API), as a user runs it."""
    where = ("--url", amqp_url(node, vhost), "--api", api_url(node))
    return run_process(*args, *where, stdin=stdin, timeout=120)


def mqctl_cluster(vhost: str, *args: str) -> Run:
    """`mqctl ARGS` with every node's URL and no --api, as a user of the cluster runs it."""
    urls = [arg for node in (1, 2, 3) for arg in ("--url", amqp_url(node, vhost))]
    return run_process(*args, *urls, timeout=120)


def own_vhost(node: int) -> Iterator[str]:
    name = f"mqctl-cluster-{uuid.uuid4().hex[:10]}"
    api(node, "PUT", f"vhosts/{quote(name, safe='')}").raise_for_status()
    api(
        node,
        "PUT",
        f"permissions/{quote(name, safe='')}/guest",
        {"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    yield name
    api(node, "DELETE", f"vhosts/{quote(name, safe='')}")


@pytest.fixture(scope="module")
def cluster(broker: str) -> list[str]:
    if len(NODES) != 3:
        pytest.fail("MQCTL_TEST_CLUSTER_NODES names no 3 nodes: run through scripts/test")
    return NODES


@pytest.fixture
def vhost2(cluster: list[str]) -> Iterator[str]:
    """A vhost made and removed through node 2 (which stays up in every test)."""
    yield from own_vhost(2)


def test_every_node_sees_three_running_nodes(cluster: list[str]) -> None:
    for node in (1, 2, 3):
        nodes = api(node, "GET", "nodes?columns=name,running").json()
        assert sorted(n["name"] for n in nodes if n["running"]) == [
            "rabbit@node1",
            "rabbit@node2",
            "rabbit@node3",
        ]


def test_quorum_topology_applied_through_one_node_is_planned_clean_through_the_others(
    vhost2: str, tmp_path: Path
) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(QUORUM_TOPOLOGY.format(vhost=vhost2))
    applied = mqctl(1, vhost2, "topology", "apply", str(path))
    assert applied.status == 0, applied.err
    for node in (2, 3):
        plan = mqctl(node, vhost2, "topology", "plan", str(path))
        assert plan.status == 0, plan.out + plan.err
    queue = api(3, "GET", f"queues/{quote(vhost2, safe='')}/orders.process").json()
    assert queue["type"] == "quorum"
    assert sorted(queue["members"]) == ["rabbit@node1", "rabbit@node2", "rabbit@node3"]


def test_published_through_one_node_got_through_another(vhost2: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(QUORUM_TOPOLOGY.format(vhost=vhost2))
    assert mqctl(2, vhost2, "topology", "apply", str(path)).status == 0
    ids = [f"m{i}" for i in range(20)]
    lines = "".join(json.dumps({"body": i, "properties": {"message_id": i}}) + "\n" for i in ids)
    published = mqctl(
        2, vhost2, "publish", "-e", "orders", "-k", "order.new", "--input", "-", stdin=lines
    )
    assert published.status == 0, published.err
    got = mqctl(3, vhost2, "get", "--queue", "orders.process", "--count", "50", "--format", "jsonl")
    assert got.status == 0, got.err
    received = [json.loads(line)["properties"]["message_id"] for line in got.out.splitlines()]
    assert received == ids


@pytest.fixture
def node1_stopped(cluster: list[str]) -> Iterator[None]:
    """Node 1 stopped for the test, started again (with its data) afterwards."""
    subprocess.run([BROKERS_SCRIPT, "node", "stop", "1"], check=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run([BROKERS_SCRIPT, "node", "start", "1"], check=True, timeout=300)


def test_node1_stopped_the_other_nodes_serve_plan_apply_publish_get(
    vhost2: str, node1_stopped: None, tmp_path: Path
) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(QUORUM_TOPOLOGY.format(vhost=vhost2))
    down = mqctl(1, vhost2, "topology", "plan", str(path))
    assert down.status == 3, down.out + down.err
    assert mqctl(2, vhost2, "topology", "plan", str(path)).status == 2
    assert mqctl(2, vhost2, "topology", "apply", str(path)).status == 0
    assert mqctl(3, vhost2, "topology", "plan", str(path)).status == 0
    published = mqctl(
        3, vhost2, "publish", "--exchange", "orders", "--routing-key", "order.new", "--body", "x"
    )
    assert published.status == 0, published.err
    got = mqctl(2, vhost2, "get", "--queue", "orders.process", "--format", "jsonl")
    assert got.status == 0, got.err
    assert [json.loads(line)["body"] for line in got.out.splitlines()] == ["x"]


def test_node1_stopped_the_same_flags_naming_every_node_work(
    vhost2: str, node1_stopped: None, tmp_path: Path
) -> None:
    """--url for each node, no --api: mqctl takes the first node that answers (node 2 here) and
    that node's own API (http://HOST:15672), with the flags unchanged from when all were up."""
    path = tmp_path / "orders.yaml"
    path.write_text(QUORUM_TOPOLOGY.format(vhost=vhost2))
    planned = mqctl_cluster(vhost2, "topology", "plan", str(path))
    assert planned.status == 2, planned.out + planned.err
    applied = mqctl_cluster(vhost2, "topology", "apply", str(path))
    assert applied.status == 0, applied.err
    assert mqctl_cluster(vhost2, "topology", "plan", str(path)).status == 0
    ids = [f"m{i}" for i in range(5)]
    for message_id in ids:
        published = mqctl_cluster(
            vhost2, "publish", "-e", "orders", "-k", "order.new", "--message-id", message_id
        )
        assert published.status == 0, published.err
    got = mqctl_cluster(vhost2, "get", "--queue", "orders.process", "-n", "2", "--format", "jsonl")
    consumed = mqctl_cluster(
        vhost2, "consume", "--queue", "orders.process", "-n", "3", "--format", "jsonl"
    )
    assert (got.status, consumed.status) == (0, 0), got.err + consumed.err
    received = [
        json.loads(line)["properties"]["message_id"]
        for line in (got.out + consumed.out).splitlines()
    ]
    assert received == ids


REPLICATED_TOPOLOGY = """\
vhost: {vhost}
queues:
  - {{name: orders.q, type: quorum, initial_group_size: 2, leader_locator: balanced}}
  - {{name: orders.s, type: stream, initial_cluster_size: 2, max_age: 7D}}
"""


def test_replica_counts_and_leader_placement_are_applied_and_exported_by_name(
    vhost2: str, tmp_path: Path
) -> None:
    """How many nodes hold each replicated queue, and where its leader goes: applied through
    one node, members on two of the three, exported through another under the same keys."""
    path = tmp_path / "replicated.yaml"
    path.write_text(REPLICATED_TOPOLOGY.format(vhost=vhost2))
    applied = mqctl(2, vhost2, "topology", "apply", str(path))
    assert applied.status == 0, applied.err
    for name in ("orders.q", "orders.s"):
        queue = api(3, "GET", f"queues/{quote(vhost2, safe='')}/{name}").json()
        assert len(queue["members"]) == 2, queue
        assert queue["leader"] in queue["members"], queue
    exported = mqctl(3, vhost2, "topology", "export", "--vhost", vhost2)
    assert exported.status == 0, exported.err
    queues = {q["name"]: q for q in yaml.safe_load(exported.out)["queues"]}
    assert queues["orders.q"] == {
        "name": "orders.q",
        "type": "quorum",
        "initial_group_size": 2,
        "leader_locator": "balanced",
    }
    assert queues["orders.s"]["initial_cluster_size"] == 2
    assert "arguments" not in queues["orders.s"]
    assert mqctl(1, vhost2, "topology", "plan", str(path)).status == 0

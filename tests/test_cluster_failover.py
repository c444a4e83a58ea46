"""A node going away in the middle of a command, on the 3-node cluster of scripts/brokers.

Node 1 stopped mid-publish and mid-consume with every node's --url (failover is on by default
then), and node 3's broker application restarted (`rabbitmqctl stop_app` / `start_app`) under
`publish --reconnect` and under `move`, which does not reconnect but loses nothing. Messages
carry ids: none may be missing, and duplicates only where the README says they can be (among
the messages publish says it sent again; a consumer's copies marked redelivered; a move's
'may also' line). A stopped node is started again in a `finally`.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.conftest import ROOT
from tests.messaging_support import reconnected_summary
from tests.test_cluster import (
    BROKERS_SCRIPT,
    QUORUM_TOPOLOGY,
    amqp_url,
    cluster,
    mqctl,
    vhost2,
)

__all__ = ["cluster", "vhost2"]  # fixtures

pytestmark = [pytest.mark.cluster, pytest.mark.broker]

QUEUE = "orders.process"


def brokers(*args: str) -> None:
    subprocess.run([BROKERS_SCRIPT, *args], check=True, timeout=300)


@contextlib.contextmanager
def node_stopped(node: int, how: str = "node") -> Iterator[None]:
    """Node `node` stopped ("node": the whole node; "app": `rabbitmqctl stop_app`), and started
    again when the block ends, however it ends."""
    if how == "app":
        brokers("ctl", str(node), "-q", "stop_app")
    else:
        brokers("node", "stop", str(node))
    try:
        yield
    finally:
        if how == "app":
            brokers("ctl", str(node), "-q", "start_app")
        else:
            brokers("node", "start", str(node))


def start(vhost: str, *args: str, nodes: tuple[int, ...] = (1, 2, 3)) -> subprocess.Popen[bytes]:
    """`mqctl ARGS --url NODE...` as a child process, left running."""
    urls = [arg for node in nodes for arg in ("--url", amqp_url(node, vhost))]
    return subprocess.Popen(
        [sys.executable, "-m", "mqctl", *args, *urls], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@contextlib.contextmanager
def channel(node: int, vhost: str) -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url(node, vhost)))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def depth(node: int, vhost: str, queue: str) -> int:
    with channel(node, vhost) as ch:
        return int(ch.queue_declare(queue, passive=True).method.message_count)


def wait_for_depth(node: int, vhost: str, queue: str, at_least: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while depth(node, vhost, queue) < at_least:
        assert time.monotonic() < deadline, f"{queue} never held {at_least} messages"
        time.sleep(0.05)


def ids_in(node: int, vhost: str, queue: str) -> Counter[str]:
    """The message ids in `queue`, consumed with acks through `node` (the queue ends empty)."""
    expected = depth(node, vhost, queue)
    found: Counter[str] = Counter()
    with channel(node, vhost) as ch:
        ch.basic_qos(prefetch_count=1000)
        for method, props, _body in ch.consume(queue, inactivity_timeout=10):
            if method is None:
                break
            found[props.message_id] += 1
            if found.total() % 500 == 0 or found.total() >= expected:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if found.total() >= expected:
                break
        ch.cancel()
    return found


def id_lines(total: int, **properties: Any) -> str:
    return "".join(
        json.dumps({"body": f"m{i}", "properties": {"message_id": f"m{i}", **properties}}) + "\n"
        for i in range(total)
    )


def applied(vhost: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(QUORUM_TOPOLOGY.format(vhost=vhost))
    result = mqctl(2, vhost, "topology", "apply", str(path))
    assert result.status == 0, result.err


def test_node1_stopped_mid_publish_goes_on_at_node2_sending_again_only_the_unconfirmed(
    vhost2: str, tmp_path: Path
) -> None:
    applied(vhost2, tmp_path)
    total = 20000
    path = tmp_path / "in.jsonl"
    path.write_text(id_lines(total))
    # Every node's --url: node 1 is the first that answers; failover is on without a flag.
    proc = start(vhost2, "publish", "-e", "orders", "-k", "order.new", "--input", str(path),
                 "--rate", "1000")  # fmt: skip
    wait_for_depth(2, vhost2, QUEUE, 2000)
    with node_stopped(1):
        out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    reconnects, again = reconnected_summary(out.decode().splitlines()[-1], total)
    assert reconnects >= 1
    lines = err.decode().splitlines()
    assert re.fullmatch(
        # A stopping node closes with 320, or its socket goes first (connection reset).
        r"warning: (the broker closed the connection: 320 CONNECTION_FORCED - .*|lost the "
        r"connection to 10\.77\.16\.11:5672: .*): reconnecting to 10\.77\.16\.12:5672 in "
        r"0\.25 s \(attempt 1 of 10\)",
        lines[0],
    ), lines
    assert lines[1].startswith("warning: reconnected to 10.77.16.12:5672"), lines
    found = ids_in(2, vhost2, QUEUE)
    assert set(found) == {f"m{i}" for i in range(total)}  # nothing lost
    assert found.total() - total <= again  # duplicates only among those sent again


def test_node1_stopped_mid_consume_goes_on_at_node2_acking_nothing_across(
    vhost2: str, tmp_path: Path
) -> None:
    applied(vhost2, tmp_path)
    total = 20000
    filled = mqctl(2, vhost2, "publish", "-e", "orders", "-k", "order.new", "--input", "-",
                   stdin=id_lines(total))  # fmt: skip
    assert filled.status == 0, filled.err
    proc = start(vhost2, "consume", "-q", QUEUE, "--format", "jsonl", "--timeout", "15")
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = [proc.stdout.readline() for _ in range(500)]
    stopped = threading.Event()

    def stop_node1() -> None:
        brokers("node", "stop", "1")
        stopped.set()

    stopper = threading.Thread(target=stop_node1)
    stopper.start()
    try:
        # Read slowly (the consumer waits for each line to be read) until node 1 is down.
        for line in proc.stdout:
            lines.append(line)
            if not stopped.is_set():
                time.sleep(0.001)
        err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        stopper.join(timeout=300)
        brokers("node", "start", "1")
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in lines]
    assert {r["properties"]["message_id"] for r in records} == {f"m{i}" for i in range(total)}
    copies: Counter[str] = Counter()
    for record in records:
        copies[record["properties"]["message_id"]] += 1
        if copies[record["properties"]["message_id"]] > 1:  # its ack was lost with node 1
            assert record["redelivered"], record
    notes = err.decode().splitlines()
    assert "reconnecting to 10.77.16.12:5672" in notes[0], notes
    assert notes[1].startswith("warning: reconnected to 10.77.16.12:5672; consuming again"), notes
    deadline = time.monotonic() + 30
    while depth(2, vhost2, QUEUE) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert depth(2, vhost2, QUEUE) == 0


def classic_queues(vhost: str, *names: str) -> None:
    """Durable classic queues declared through node 3, so that they live there."""
    with channel(3, vhost) as ch:
        for name in names:
            ch.queue_declare(name, durable=True, arguments={"x-queue-type": "classic"})


def test_publish_reconnect_across_a_broker_app_restart(vhost2: str, tmp_path: Path) -> None:
    """`rabbitmqctl stop_app` / `start_app` on node 3 under a publish to a queue of node 3,
    with one --url: the same node, tried until it is back."""
    classic_queues(vhost2, "restart.q")
    total = 10000
    path = tmp_path / "in.jsonl"
    path.write_text(id_lines(total, delivery_mode=2))
    proc = start(vhost2, "publish", "-k", "restart.q", "--input", str(path), "--rate", "1000",
                 "--reconnect", nodes=(3,))  # fmt: skip
    wait_for_depth(3, vhost2, "restart.q", 1000)
    with node_stopped(3, how="app"):
        time.sleep(1)  # down for a moment: the reconnection attempts meet a refusal first
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    reconnects, again = reconnected_summary(out.decode().splitlines()[-1], total)
    assert reconnects >= 1
    notes = err.decode().splitlines()
    assert "reconnecting to 10.77.16.13:5672 in 0.25 s (attempt 1 of 10)" in notes[0], notes
    assert any("connection refused by 10.77.16.13:5672" in note for note in notes), notes
    assert notes[-1].startswith("warning: reconnected to 10.77.16.13:5672"), notes
    found = ids_in(3, vhost2, "restart.q")
    assert set(found) == {f"m{i}" for i in range(total)}
    assert found.total() - total <= again


def test_move_across_a_broker_app_restart_keeps_every_message(vhost2: str, tmp_path: Path) -> None:
    """move has no reconnection: it stops, and every message is in the source or the
    destination once node 3 is back (duplicates only when the last line says so)."""
    classic_queues(vhost2, "move.src", "move.dst")
    total = 20000
    filled = mqctl(3, vhost2, "publish", "-k", "move.src", "--input", "-",
                   stdin=id_lines(total, delivery_mode=2))  # fmt: skip
    assert filled.status == 0, filled.err
    # --prefetch 2: one round trip per two messages, so that the move outlasts the stop_app.
    proc = start(vhost2, "move", "move.src", "--to-queue", "move.dst", "--prefetch", "2",
                 nodes=(3,))  # fmt: skip
    wait_for_depth(3, vhost2, "move.dst", 500)
    with node_stopped(3, how="app"):
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, f"ended before the restart? {proc.returncode} {out!r} {err!r}"
    assert re.search(r"320 CONNECTION_FORCED|lost the connection to 10\.77\.16\.13", err.decode())
    last = out.decode().splitlines()[-1]
    assert last.startswith("moved "), out
    source, target = ids_in(3, vhost2, "move.src"), ids_in(3, vhost2, "move.dst")
    assert set(source) | set(target) == {f"m{i}" for i in range(total)}  # none lost
    duplicated = source.total() + target.total() - total
    assert duplicated >= 0
    if duplicated:
        assert "may also" in last, (duplicated, last)

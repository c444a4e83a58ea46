"""apply --recreate keeps a queue's messages and bindings (real broker): every message accounted
for by id, also when the recreate is interrupted at any of its steps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika
import pytest

from mqctl.topology import recreate
from tests.conftest import AMQP_URL
from tests.topology_helpers import Cli, api, quote, write

pytestmark = pytest.mark.broker

FILE = """\
vhost: {vhost}
exchanges:
  - {{name: h, type: headers}}
  - {{name: up, type: topic}}
queues:
  - {{name: q, type: {qtype}, {extra}}}
bindings:
  - {{from: h, to_queue: q, arguments: {{x-match: any, kind: a}}}}
  - {{from: up, to_exchange: h, routing_key: '#'}}
"""


@pytest.fixture
def cli(clean_env: Path) -> Cli:
    return Cli()


def url_for(vhost: str) -> str:
    """The test broker's AMQP URL with `vhost` as its path."""
    return AMQP_URL.rsplit("/", 1)[0] + "/" + quote(vhost)


@contextmanager
def channel(vhost: str) -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(url_for(vhost)))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def publish_ids(vhost: str, count: int) -> None:
    """`count` messages with ids 0..count-1, half through the exchange-to-exchange binding and
    the headers exchange, half straight to the queue; confirmed."""
    with channel(vhost) as ch:
        for i in range(count):  # without confirms (fast); the depth below says they all arrived
            props = pika.BasicProperties(message_id=str(i), headers={"kind": "a"}, delivery_mode=2)
            if i % 2:
                ch.basic_publish("up", "any.key", b"m", props)
            else:
                ch.basic_publish("", "q", b"m", props)
    deadline = time.monotonic() + 60
    while depth(vhost, "q") != count and time.monotonic() < deadline:
        time.sleep(0.2)


def depth(vhost: str, queue: str) -> int | None:
    with channel(vhost) as ch:
        try:
            return int(ch.queue_declare(queue, passive=True).method.message_count)
        except pika.exceptions.ChannelClosedByBroker:
            return None


def drain_ids(vhost: str, queue: str) -> list[int]:
    """Every message id in `queue` (consumed and acked: the end of a test)."""
    ids: list[int] = []
    with channel(vhost) as ch:
        ch.basic_qos(prefetch_count=1000)
        for method, props, _ in ch.consume(queue, inactivity_timeout=2):
            if method is None:
                break
            ids.append(int(props.message_id))
            ch.basic_ack(method.delivery_tag)
        ch.cancel()
    return ids


def bindings_to_q(vhost: str) -> set[tuple[str, str, str]]:
    return {
        (b["source"], b["routing_key"], json.dumps(b.get("arguments") or {}, sort_keys=True))
        for b in api("GET", f"queues/{quote(vhost)}/q/bindings")
        if b["source"]
    }


def test_recreate_keeps_10000_messages_and_every_binding(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    classic = write(tmp_path / "a.yaml", FILE.format(vhost=vhost, qtype="classic", extra=""))
    assert cli("topology", "apply", str(classic)).status == 0
    # A binding the files do not declare: it comes back too.
    api("POST", f"bindings/{quote(vhost)}/e/amq.topic/q/q", {"routing_key": "extra.#"})
    before = bindings_to_q(vhost)
    publish_ids(vhost, 10_000)
    assert depth(vhost, "q") == 10_000
    quorum = write(
        tmp_path / "b.yaml", FILE.format(vhost=vhost, qtype="quorum", extra="delivery_limit: 5")
    )
    plan = cli("topology", "plan", "--recreate", str(quorum))
    assert f"! conflict  queue 'q' in vhost {vhost!r} (holds 10000 messages, 0 consumers)" in (
        plan.out
    )
    applied = cli("topology", "apply", "--recreate", str(quorum))
    assert applied.status == 0, applied.err
    assert applied.err.endswith("applied: 0 created, 0 updated, 1 recreated, 0 deleted\n"), (
        applied.err
    )
    queue = api("GET", f"queues/{quote(vhost)}/q")
    assert (queue["type"], queue["arguments"]["x-delivery-limit"]) == ("quorum", 5)
    assert bindings_to_q(vhost) == before
    assert depth(vhost, "q" + recreate.SUFFIX) is None  # the temporary queue is gone
    assert cli("topology", "plan", str(quorum)).status == 0
    assert sorted(drain_ids(vhost, "q")) == list(range(10_000))


class Stop(Exception):
    pass


@pytest.mark.parametrize("step", recreate.STEPS)
def test_an_interrupted_recreate_loses_nothing_and_apply_finishes_it(
    step: str, vhost: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 300
    classic = write(tmp_path / "a.yaml", FILE.format(vhost=vhost, qtype="classic", extra=""))
    assert cli("topology", "apply", str(classic)).status == 0
    publish_ids(vhost, count)
    quorum = write(tmp_path / "b.yaml", FILE.format(vhost=vhost, qtype="quorum", extra=""))

    def interrupt(done: str, queue: object) -> None:
        if done == step:
            raise KeyboardInterrupt

    monkeypatch.setattr(recreate, "after_step", interrupt)
    stopped = cli("topology", "apply", "--recreate", str(quorum))
    assert stopped.status == 130, stopped.err
    assert stopped.err.startswith("mqctl: error: apply interrupted (Ctrl-C); done: 0 created")
    temp = "q" + recreate.SUFFIX
    held = (depth(vhost, "q") or 0) + (depth(vhost, temp) or 0)
    assert held == count  # every message in the old, the temporary or the new queue
    monkeypatch.setattr(recreate, "after_step", lambda done, queue: None)
    plan = cli("topology", "plan", "--recreate", str(quorum))
    if depth(vhost, temp) is not None:
        assert (
            f"warning: queue 'q' in vhost {vhost!r} was being recreated and was interrupted: "
            f"queue {temp!r} in vhost {vhost!r} holds"
        ) in plan.err
    finished = cli("topology", "apply", "--recreate", str(quorum))
    assert finished.status == 0, finished.err
    assert api("GET", f"queues/{quote(vhost)}/q")["type"] == "quorum"
    assert depth(vhost, temp) is None
    assert sorted(drain_ids(vhost, "q")) == list(range(count))

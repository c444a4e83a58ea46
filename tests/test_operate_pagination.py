"""`list queues` on a vhost of 20,000 queues: the API's pagination and the streamed answer give
the same queues, sorted by the broker, and mqctl's memory stays bounded while they stream.

Making and deleting 20,000 queues loads a broker for minutes, so this runs on the 4.x broker of
scripts/brokers (scripts/test's rabbitmq4 leg), never on the shared system broker unless asked
with MQCTL_TEST_BIG=1:

    scripts/brokers run rabbitmq4 .venv/bin/python -m pytest tests/test_operate_pagination.py

81 s there at load 4.4 on 2 cores: 13 s creating the queues, 14 s paging through all 40 pages,
48 s deleting the vhost (the broker's own pace, ~2.4 ms a queue); 193 s at load 4-6 when the
queues came from one definitions import.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator

import pytest
import requests

from mqctl.operate.listing import ListRequest, NameFilter, SortKey, list_objects
from mqctl.topology.backends.amqp import AmqpBackend
from mqctl.topology.model import Queue, Topology
from tests.conftest import API_URL, AUTH, BROKER_NAME
from tests.operate_helpers import client, q, settings

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        BROKER_NAME != "rabbitmq4" and os.environ.get("MQCTL_TEST_BIG") != "1",
        reason="20,000 queues: on the rabbitmq4 leg (scripts/brokers) or with MQCTL_TEST_BIG=1",
    ),
]

COUNT = 20_000


def drop_vhost(name: str, deadline: float = 1800.0) -> None:
    """Delete a vhost of many queues. The API cuts a request off after about a minute and the
    deletion stops with it, so ask again until it is gone."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            response = requests.delete(f"{API_URL}/api/vhosts/{q(name)}", auth=AUTH, timeout=120)
        except requests.RequestException:
            continue
        if response.status_code in (204, 404):
            return
    raise AssertionError(f"vhost {name!r} still there after {deadline:.0f} s")


@pytest.fixture(scope="module")
def big_vhost(broker: str) -> Iterator[str]:
    import uuid

    name = f"mqctl-test-{uuid.uuid4().hex[:10]}-20k"
    requests.put(f"{API_URL}/api/vhosts/{q(name)}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API_URL}/api/permissions/{q(name)}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=30,
    ).raise_for_status()
    try:
        # Pipelined declares on many channels (the topology engine's bulk path): 29 s for
        # 20,000 on 4.3.6 at load 5, where one definitions import took 42 s.
        backend = AmqpBackend(settings(name))
        try:
            queues = [Queue(name, f"q{i:05d}") for i in range(COUNT)]
            backend.bulk_create(list(queues), existing=Topology())
        finally:
            backend.close()
        yield name
    finally:
        drop_vhost(name)


def test_pages_and_stream_give_every_queue_sorted_by_the_broker(big_vhost: str) -> None:
    expected = [f"q{i:05d}" for i in range(COUNT)]
    with client(big_vhost) as c:
        paged = list_objects(
            c,
            ListRequest(
                "queues", big_vhost, columns=("name",), sort=SortKey("name", True), page_size=500
            ),
        )
        assert [r["name"] for r in paged.rows] == expected[::-1]
        streamed = list_objects(c, ListRequest("queues", big_vhost, columns=("name", "messages")))
        names = [r["name"] for r in streamed.rows]
    assert sorted(names) == expected


def test_paged_filter_is_applied_by_the_broker_and_here(big_vhost: str) -> None:
    with client(big_vhost) as c:
        listing = list_objects(
            c,
            ListRequest(
                "queues",
                big_vhost,
                columns=("name",),
                name_filter=NameFilter("q1999?"),
                page_size=3,
            ),
        )
        assert sorted(r["name"] for r in listing.rows) == [f"q1999{i}" for i in range(10)]


def test_streaming_memory_is_bounded(big_vhost: str) -> None:
    """Peak Python allocations while streaming all 20,000 rows stay far below what holding them
    would take (each row is about 1 KiB as a dict)."""
    with client(big_vhost) as c:
        tracemalloc.start()
        try:
            seen = 0
            for _ in list_objects(c, ListRequest("queues", big_vhost)).rows:
                seen += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert seen == COUNT
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"

"""`publish --reconnect` and `consume --reconnect` across a lost connection (closed by the broker
with 320 CONNECTION_FORCED, what a node stopping does): publish sends again only what was not
confirmed, consume never acks on the new connection what came on the old one, and every message
is accounted for by its id. The cluster's node loss is in tests/test_cluster_failover.py.

The connections closed are the test's own (a user it creates), as in
tests/test_messaging_connection_loss.py."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from typing import IO

import pytest
import requests

from mqctl.config import ConnectionOptions, resolve_nodes
from mqctl.messaging.failover import Failover
from tests.conftest import API_URL, AUTH
from tests.messaging_support import channel, depth, mqctl, reconnected_summary
from tests.test_messaging_connection_loss import (
    close_connections_of,
    connections_of,
    own_user,
    run,
)
from tests.test_messaging_move import bodies, fill, queues

__all__ = ["own_user", "queues"]  # fixtures


def feed_until_closed(stream: IO[bytes], closed: threading.Event, written: list[int]) -> None:
    """Write numbered lines at about 2,000 a second until the connection was closed, then 2,000
    more (`communicate` then ends the input): messages are in flight when the connection goes."""
    n, last = 0, None
    while last is None or n < last:
        stream.write(
            "".join(json.dumps({"body": str(i)}) + "\n" for i in range(n, n + 100)).encode()
        )
        stream.flush()
        n += 100
        written[0] = n
        if last is None and closed.is_set():
            last = n + 2000
        time.sleep(0.05)


@pytest.mark.broker
def test_publish_reconnect_sends_again_only_what_was_not_confirmed(
    queues: tuple[str, str], own_user: tuple[str, str]
) -> None:
    user, url = own_user
    queue, _ = queues
    proc = run("publish", "-k", queue, "--input", "-", "--reconnect", url=url, stdin=True)
    closed, written = threading.Event(), [0]
    feeder = threading.Thread(target=feed_until_closed, args=(proc.stdin, closed, written))
    feeder.start()
    try:
        close_connections_of(user, proc)
    finally:
        closed.set()
        feeder.join(timeout=120)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    total = written[0]
    reconnects, republished = reconnected_summary(out.decode().splitlines()[-1], total)
    assert reconnects == 1
    lines = err.decode().splitlines()
    assert re.fullmatch(
        r"warning: the broker closed the connection: 320 CONNECTION_FORCED - test: connection "
        r"lost: reconnecting to \S+ in 0\.25 s \(attempt 1 of 10\)",
        lines[0],
    ), lines
    assert lines[1].startswith("warning: reconnected to "), lines
    if republished:
        assert f"publishing again the {republished} message(s)" in lines[1], lines
    found = Counter(bodies(queue))
    assert set(found) == {b"%d" % i for i in range(total)}  # every one, confirmed or resent
    assert sum(found.values()) - total <= republished  # duplicates only among the resent


@pytest.mark.broker
def test_consume_reconnect_acks_nothing_across_connections(
    queues: tuple[str, str], own_user: tuple[str, str]
) -> None:
    user, url = own_user
    queue, _ = queues
    total = 3000
    fill(queue, [b"%d" % i for i in range(total)])
    proc = run("consume", "-q", queue, "--format", "jsonl", "--timeout", "3", "--reconnect",
               url=url)  # fmt: skip
    assert proc.stdout is not None
    # A pipe holds one message at a time: unread, the consumer waits with its window delivered.
    first = [proc.stdout.readline() for _ in range(100)]
    close_connections_of(user, proc)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in [*first, *rest.splitlines()]]
    seen = Counter(record["body"] for record in records)
    assert set(seen) == {str(i) for i in range(total)}  # none lost
    copies: dict[str, int] = {}
    for record in records:  # a second copy only of a message written as the connection went,
        body = record["body"]  # whose ack could not arrive: the broker redelivered it
        copies[body] = copies.get(body, 0) + 1
        if copies[body] > 1:
            assert record["redelivered"], record
    lines = err.decode().splitlines()
    assert "320 CONNECTION_FORCED - test: connection lost: reconnecting to" in lines[0], lines
    assert lines[1].startswith("warning: reconnected to "), lines
    assert "consuming again" in lines[1], lines
    deadline = time.monotonic() + 10
    while depth(queue) and time.monotonic() < deadline:  # the last acks reach the queue
        time.sleep(0.05)
    assert depth(queue) == 0


@pytest.mark.broker
def test_consume_reconnect_reads_a_stream_on_from_the_offset_after_the_last_written(
    own_user: tuple[str, str], unique: str
) -> None:
    user, url = own_user
    total = 3000
    with channel() as ch:
        ch.queue_declare(unique, durable=True, arguments={"x-queue-type": "stream"})
    try:
        fill(unique, [b"%d" % i for i in range(total)])
        proc = run("consume", "-q", unique, "--offset", "first", "--body-only", "-n", str(total),
                   "--timeout", "10", "--reconnect", url=url)  # fmt: skip
        assert proc.stdout is not None
        first = [proc.stdout.readline() for _ in range(100)]
        close_connections_of(user, proc)
        rest, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        # Exactly once each, in order: a stream is read by offset, and the new consumer starts
        # after the last message written (nothing is requeued, nothing read twice).
        assert [*first, *rest.splitlines(keepends=True)] == [b"%d\n" % i for i in range(total)]
        lines = err.decode().splitlines()
        assert re.fullmatch(r"warning: reconnected to \S+; reading the stream again from offset "
                            r"\d+", lines[1]), lines  # fmt: skip
    finally:
        with channel() as ch:
            ch.queue_delete(unique)


@pytest.mark.broker
def test_consume_reconnect_with_no_ack_says_what_it_lost(
    queues: tuple[str, str], own_user: tuple[str, str]
) -> None:
    """--no-ack: the broker forgets each message as it sends it. What reached mqctl is written
    (none is dropped with the lost connection), nothing twice, and consuming goes on with the
    rest of the queue; what was sent and did not arrive would be lost, and the note says so.
    Here nothing is: the broker sends what it had queued before its Connection.Close."""
    user, url = own_user
    queue, _ = queues
    total = 3000
    fill(queue, [b"%d" % i for i in range(total)])
    proc = run("consume", "-q", queue, "--no-ack", "--format", "jsonl", "--timeout", "3",
               "--reconnect", url=url)  # fmt: skip
    assert proc.stdout is not None
    first = [proc.stdout.readline() for _ in range(100)]  # the pipe is full: deliveries wait
    close_connections_of(user, proc)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    bodies_written = [json.loads(line)["body"] for line in [*first, *rest.splitlines()]]
    assert len(set(bodies_written)) == len(bodies_written)  # nothing written twice
    assert set(bodies_written) <= {str(i) for i in range(total)}
    assert len(bodies_written) == total
    lines = err.decode().splitlines()
    assert "320 CONNECTION_FORCED - test: connection lost: reconnecting to" in lines[0], lines
    assert lines[1].endswith(
        "; consuming again (--no-ack: what the broker had sent on the lost connection and did "
        "not arrive is lost)"
    ), lines
    assert depth(queue) == 0


def tap_queues(exchange: str, other_than: set[str]) -> set[str]:
    """The queues bound to `exchange`, once one of them is not in `other_than`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        bound = requests.get(f"{API_URL}/api/exchanges/%2f/{exchange}/bindings/source",
                             auth=AUTH, timeout=10).json()  # fmt: skip
        queues = {binding["destination"] for binding in bound}
        if queues - other_than:
            return queues
        time.sleep(0.05)
    raise AssertionError(f"no new queue bound to {exchange} after 30 s")


@pytest.mark.broker
def test_consume_reconnect_taps_the_exchange_again_and_says_what_it_missed(
    own_user: tuple[str, str], unique: str
) -> None:
    """A tap's queue goes with its connection: after the loss, mqctl binds a new one and says
    that what the exchange routed meanwhile was not seen; what comes after is."""
    user, url = own_user
    with channel() as ch:
        ch.exchange_declare(unique, "topic")  # not auto-delete: the loss unbinds its only queue
    proc = run("consume", "-e", unique, "--binding-key", "tap.#", "--count", "5",
               "--format", "jsonl", "--reconnect", url=url)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        connections_of(user, proc)
        old_tap = tap_queues(unique, other_than=set())
        with channel() as ch:
            for i in range(3):
                ch.basic_publish(unique, f"tap.{i}", b"before %d" % i)
        first = [proc.stdout.readline() for _ in range(3)]
        close_connections_of(user, proc)
        lines = [proc.stderr.readline().decode(), proc.stderr.readline().decode()]
        assert "320 CONNECTION_FORCED - test: connection lost: reconnecting to" in lines[0]
        assert lines[1].startswith("warning: reconnected to ")
        assert f"tapping exchange '{unique}' again" in lines[1]
        assert "(what it routed while disconnected was not seen)" in lines[1]
        tap_queues(unique, other_than=old_tap)  # the note comes as the new tap is being made
        with channel() as ch:
            for i in range(2):
                ch.basic_publish(unique, f"tap.{i}", b"after %d" % i)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        with channel() as ch:
            ch.exchange_delete(unique)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in [*first, *rest.splitlines()]]
    assert [r["body"] for r in records] == [
        "before 0",
        "before 1",
        "before 2",
        "after 0",
        "after 1",
    ]


@pytest.mark.broker
def test_reconnect_stops_at_a_refusal_that_would_come_again(
    queues: tuple[str, str], own_user: tuple[str, str]
) -> None:
    """The user deleted: its connection is closed (320) and logging in again is refused, which
    no retry mends: one attempt, then the summary and exit 3."""
    user, url = own_user
    queue, _ = queues
    proc = run("publish", "-k", queue, "--body", "x", "-n", "1000000", "--rate", "2000",
               "--reconnect", url=url)  # fmt: skip
    connections_of(user, proc)  # logged in: the next login is a reconnection
    requests.delete(f"{API_URL}/api/users/{user}", auth=AUTH, timeout=10).raise_for_status()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    last = out.decode().splitlines()[-1]
    match = re.fullmatch(
        r"sent (\d+), confirmed (\d+), returned 0, nacked 0(?:, unconfirmed (\d+))?", last
    )
    assert match, last
    assert int(match[1]) == int(match[2]) + int(match[3] or 0)
    lines = err.decode().splitlines()
    assert "reconnecting to" in lines[0] and "(attempt 1 of 10)" in lines[0], lines
    assert lines[-1].startswith(f"mqctl: error: authentication refused for user '{user}'"), lines
    assert len(lines) == 2, lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("publish", "-k", "q", "--body", "x", "--no-confirm", "--reconnect"),
         "mqctl: error: --reconnect needs confirms: without them nothing says which messages to "
         "publish again; leave out --no-confirm\n"),
        (("consume", "-q", "q", "--requeue", "--reconnect"),
         "mqctl: error: --reconnect does not combine with --requeue: a look on a new connection "
         "would show again every message the lost one had shown; look again after the loss "
         "instead\n"),
    ],
)  # fmt: skip
def test_reconnect_refused_where_it_cannot_be_safe(args: tuple[str, ...], message: str) -> None:
    assert mqctl(*args) == (4, "", message)


def test_failover_goes_round_the_nodes_with_a_doubling_wait() -> None:
    nodes = resolve_nodes(
        ConnectionOptions(url=tuple(f"amqp://u:p@n{i}/%2f" for i in (1, 2, 3))), env={}
    )
    failover = Failover(nodes)
    after_n1 = [failover.node(nodes[0], attempt).host for attempt in range(1, 5)]
    assert after_n1 == ["n2", "n3", "n1", "n2"]
    assert [failover.node(nodes[2], 1).host] == ["n1"]
    one = resolve_nodes(ConnectionOptions(url="amqp://u:p@solo/%2f"), env={})
    assert Failover(one).node(one[0], 3) == one[0]
    delays = [failover.delay(attempt) for attempt in range(1, failover.attempts + 1)]
    assert delays[:6] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0] and max(delays) == 8.0
    assert 40 < sum(delays) < 60  # what --help says: about 48 s in all


def test_several_urls_resolve_to_every_node_in_order() -> None:
    urls = ("amqp://u:p@n1:5672/v", "amqp://u:p@n2:5673/v")
    nodes = resolve_nodes(ConnectionOptions(url=urls), env={})
    assert [(n.host, n.port, n.api_url) for n in nodes] == [
        ("n1", 5672, "http://n1:15672"),
        ("n2", 5673, "http://n2:15672"),
    ]

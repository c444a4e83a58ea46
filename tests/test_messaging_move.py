"""`mqctl move` (the library) against the real broker: every message ends in the source or at the
destination, acked at the source only once the destination confirmed it."""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from mqctl.config import ConnectionOptions, resolve
from mqctl.messaging.codec import TypedBasicProperties
from mqctl.messaging.match import MessageMatch
from mqctl.messaging.message import OutgoingMessage
from mqctl.messaging.move import (
    Destination,
    ForwardedUnread,
    Left,
    MoveOptions,
    move,
    move_queue,
)
from mqctl.messaging.publisher import PublishOptions, publish
from tests.conftest import AMQP_URL, ROOT, broker_table_order
from tests.messaging_support import (
    channel,
    declare,
    delete,
    depth,
    get_with_pika,
    mqctl,
    publish_plain,
)
from tests.run import run_in_process
from tests.test_messaging_consume import HAND_HEADERS, HandEncoded, shortstr

pytestmark = pytest.mark.broker


def settings(url: str = AMQP_URL) -> Any:
    return resolve(ConnectionOptions(url=url), env={})


def bodies(queue: str) -> list[bytes]:
    """Every body in `queue`, in order, consumed with acks (the queue ends empty)."""
    expected = depth(queue)
    found: list[bytes] = []
    with channel() as ch:
        ch.basic_qos(prefetch_count=1000)
        for method, _props, body in ch.consume(queue, inactivity_timeout=5):
            if method is None:
                break
            found.append(body)
            if len(found) % 500 == 0 or len(found) >= expected:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if len(found) >= expected:
                break
        ch.cancel()
    assert depth(queue) == 0
    return found


@pytest.fixture
def queues(broker: str, unique: str) -> Iterator[tuple[str, str]]:
    source, target = f"{unique}-src", f"{unique}-dst"
    declare(source)
    declare(target)
    yield source, target
    delete(source)
    delete(target)


def fill(queue: str, payloads: list[bytes]) -> None:
    """Publish quickly (pipelined confirms), each body once."""
    messages = [OutgoingMessage("", queue, TypedBasicProperties(), body) for body in payloads]
    result = publish(settings(), messages, PublishOptions())
    assert result.confirmed == len(payloads)


def numbered(n: int) -> list[bytes]:
    return [f"m{i}".encode() for i in range(n)]


def test_queue_to_queue_moves_everything_in_order(queues: tuple[str, str]) -> None:
    source, target = queues
    fill(source, numbered(300))
    result = move(settings(), source, Destination(queue=target), MoveOptions(window=50))
    assert result.error is None
    assert (result.asked, result.taken, result.moved, result.left_total) == (300, 300, 300, 0)
    assert result.complete
    assert depth(source) == 0
    assert bodies(target) == numbered(300)


def test_count_moves_exactly_that_many(queues: tuple[str, str]) -> None:
    source, target = queues
    publish_plain(source, numbered(25))
    result = move(settings(), source, Destination(queue=target), MoveOptions(count=7, window=5))
    assert (result.asked, result.moved, result.complete) == (7, 7, True)
    assert bodies(target) == numbered(7)
    assert bodies(source) == numbered(25)[7:]


def every_property_raw(version: tuple[int, ...] = (3,), user_id: bool = True) -> bytes:
    """All fourteen properties but expiration (and user_id unless `user_id`), with every header
    field type, by hand; the headers in the order a broker of `version` delivers them in (4.x
    sorts them)."""
    wires = {name: wire for name, wire, _ in HAND_HEADERS}
    entries = b"".join(
        shortstr(name) + wires[name] for name in broker_table_order(list(wires), version)
    )
    return (
        struct.pack(">H", 0xFFFC & ~(1 << 8) & ~(0 if user_id else 1 << 4))
        + shortstr("text/plain")
        + shortstr("gzip")
        + struct.pack(">I", len(entries))
        + entries
        + b"\x02\x05"
        + shortstr("c-1")
        + shortstr("r-q")
        + shortstr("m-1")
        + struct.pack(">Q", 1704164645)
        + shortstr("t")
        + (shortstr("guest") if user_id else b"")
        + shortstr("app")
        + shortstr("cl")
    )


@pytest.mark.parametrize("user_id", [True, False])  # decoded / only carried (ForwardedUnread)
def test_properties_and_typed_headers_go_across_as_the_same_bytes(
    queues: tuple[str, str], broker_version: tuple[int, ...], user_id: bool
) -> None:
    source, target = queues
    raw = every_property_raw(user_id=user_id)
    with channel() as ch:
        ch.confirm_delivery()
        ch.basic_publish("", source, b"\x00\xffbinary", HandEncoded(raw))
    result = move(settings(), source, Destination(queue=target))
    assert result.moved == 1
    _method, props, body = get_with_pika(target)
    assert body == b"\x00\xffbinary"
    assert props.raw == every_property_raw(broker_version, user_id=user_id)


def test_a_move_that_reads_no_property_decodes_only_a_user_id() -> None:
    raw = every_property_raw(user_id=False)
    carried = ForwardedUnread().decode(b"xx" + raw, 2)
    assert carried.encode() == [raw] and carried.headers is None and carried.message_id is None
    with_user = every_property_raw()
    decoded = ForwardedUnread().decode(with_user)
    assert decoded.encode() == [with_user]
    assert (decoded.user_id, decoded.message_id, decoded.app_id) == ("guest", "m-1", "app")


def test_missing_destination_takes_nothing(queues: tuple[str, str], unique: str) -> None:
    source, _target = queues
    publish_plain(source, numbered(20))
    for destination in (Destination(queue=f"{unique}-nope"), Destination(exchange=f"{unique}-x")):
        result = move(settings(), source, destination)
        assert result.error is not None and "404" in result.error.message
        assert result.moved == 0
        assert depth(source) == 20
    assert bodies(source) == numbered(20)


def test_missing_source_queue_is_an_error(broker: str, unique: str) -> None:
    result = move(settings(), f"{unique}-none", Destination(queue="whatever"))
    assert result.error is not None
    assert f"opening queue '{unique}-none' failed: 404" in result.error.message


def test_every_message_returned_stays_in_the_source(queues: tuple[str, str], unique: str) -> None:
    source, _target = queues
    exchange = f"{unique}-unbound"
    with channel() as ch:
        ch.exchange_declare(exchange, "direct")
    try:
        publish_plain(source, numbered(40))
        result = move(settings(), source, Destination(exchange=exchange), MoveOptions(window=8))
        assert result.moved == 0
        assert result.left == {Left.returned: 40}
        assert result.returned_texts == {"312 NO_ROUTE": 40}
        assert not result.complete
        assert bodies(source) == numbered(40)  # all back, in their order
    finally:
        with channel() as ch:
            ch.exchange_delete(exchange)


def test_some_returned_some_moved_and_a_filter(queues: tuple[str, str], unique: str) -> None:
    """Through a headers exchange that routes only k=good: the others are returned and stay."""
    source, target = queues
    exchange = f"{unique}-headers"
    with channel() as ch:
        ch.exchange_declare(exchange, "headers")
        ch.queue_bind(target, exchange, arguments={"x-match": "all", "k": "good"})
        ch.confirm_delivery()
        for i in range(30):
            headers = {"k": "good" if i % 3 == 0 else "bad"}
            ch.basic_publish("", source, f"m{i}".encode(), pika.BasicProperties(headers=headers))
    good = [f"m{i}".encode() for i in range(0, 30, 3)]
    bad = [f"m{i}".encode() for i in range(30) if i % 3]
    try:
        result = move(settings(), source, Destination(exchange=exchange), MoveOptions(window=4))
        assert (result.moved, result.left) == (10, {Left.returned: 20})
        assert not result.complete
        assert bodies(target) == good
        assert bodies(source) == bad  # the returned ones, back in their order

        publish_plain(source, good + bad)
        result = move(
            settings(),
            source,
            Destination(queue=target),
            MoveOptions(match=MessageMatch.parse(["routing_key=" + source]), count=5, window=2),
        )
        assert (result.moved, result.not_matching, result.complete) == (5, 0, True)
        bodies(target)
        # Only k=good (none have it now: publish_plain sets no headers): nothing moves.
        result = move(
            settings(),
            source,
            Destination(queue=target),
            MoveOptions(match=MessageMatch.parse(["headers.k=good"]), window=3),
        )
        assert (result.asked, result.moved, result.not_matching) == (25, 0, 25)
        assert result.complete  # nothing matching was asked for
        assert depth(source) == 25
    finally:
        with channel() as ch:
            ch.exchange_delete(exchange)


def test_dry_run_moves_nothing(queues: tuple[str, str]) -> None:
    source, target = queues
    publish_plain(source, numbered(15))
    result = move(
        settings(), source, Destination(queue=target), MoveOptions(dry_run=True, window=4)
    )
    assert result.dry_run and result.moved == 15
    assert result.routes == {("", target): 15}
    assert depth(target) == 0
    assert bodies(source) == numbered(15)


def test_to_another_broker_url(queues: tuple[str, str], vhost: str) -> None:
    """--to-url: a second connection (here: another vhost of the same broker)."""
    source, _target = queues
    fill(source, numbered(120))
    other_url = AMQP_URL.rsplit("/", 1)[0] + "/" + vhost
    other = settings(other_url)
    connection = pika.BlockingConnection(pika.URLParameters(other_url))
    connection.channel().queue_declare("landing")
    connection.close()
    result = move(
        settings(), source, Destination(queue="landing", settings=other), MoveOptions(window=16)
    )
    assert result.moved == 120 and result.complete
    connection = pika.BlockingConnection(pika.URLParameters(other_url))
    ch = connection.channel()
    assert ch.queue_declare("landing", passive=True).method.message_count == 120
    connection.close()
    assert depth(source) == 0


def test_amqps_on_both_ends_with_one_ca_cert(
    queues: tuple[str, str], tls_broker: tuple[int, Path]
) -> None:
    """--to-url amqps://: the destination is verified with the --ca-cert given for the source,
    and the batched writes of the move go through TLS on both connections."""
    source, target = queues
    fill(source, numbered(300))
    port, cert = tls_broker
    tls_url = f"amqps://guest:guest@127.0.0.1:{port}/%2f"
    status, out, err = run_in_process("move", source, "--to-queue", target, "--url", tls_url,
                                      "--to-url", tls_url, "--ca-cert", str(cert))  # fmt: skip
    assert (status, out, err) == (0, "moved 300 of 300\n", "")
    assert depth(source) == 0
    status, out, err = mqctl("move", target, "--to-queue", source, "--to-url", tls_url)
    assert status == 3 and "CERTIFICATE_VERIFY_FAILED" in err
    assert depth(source) == 0
    assert bodies(target) == numbered(300)


def test_move_queue_for_topology_recreate(queues: tuple[str, str]) -> None:
    source, target = queues
    publish_plain(source, numbered(10))
    result = move_queue(settings(), source, target)
    assert result.moved == 10
    assert bodies(target) == numbered(10)


def test_same_queue_is_refused(queues: tuple[str, str]) -> None:
    source, _ = queues
    from mqctl.errors import BadInput

    with pytest.raises(BadInput, match="both the source and the destination"):
        move(settings(), source, Destination(queue=source))


def wait_for_depth(queue: str, expected: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while depth(queue) != expected:
        assert time.monotonic() < deadline, f"{queue} holds {depth(queue)}, not {expected}"
        time.sleep(0.05)


@pytest.fixture
def dead_letters(broker: str, unique: str) -> Iterator[dict[str, str]]:
    """A DLQ fed by a rejected message (topic exchange), an expired one (headers exchange) and
    one whose origin exchange was deleted since; plus one message that was never dead-lettered."""
    names = {
        "dlx": f"{unique}-dlx",
        "dlq": f"{unique}-dlq",
        "topic": f"{unique}-topic",
        "headers": f"{unique}-headers",
        "gone": f"{unique}-gone",
        "orders": f"{unique}-orders",
        "audit": f"{unique}-audit",
        "temp": f"{unique}-temp",
    }
    dead_lettering = {"x-dead-letter-exchange": names["dlx"]}
    with channel() as ch:
        ch.exchange_declare(names["dlx"], "fanout")
        ch.queue_declare(names["dlq"])
        ch.queue_bind(names["dlq"], names["dlx"])
        ch.exchange_declare(names["topic"], "topic")
        ch.exchange_declare(names["headers"], "headers")
        ch.exchange_declare(names["gone"], "fanout")
        for queue in ("orders", "audit", "temp"):
            ch.queue_declare(names[queue], arguments=dead_lettering)
        ch.queue_bind(names["orders"], names["topic"], routing_key="order.*")
        ch.queue_bind(names["audit"], names["headers"], arguments={"x-match": "all", "kind": "a"})
        ch.queue_bind(names["temp"], names["gone"])
        ch.confirm_delivery()
        ch.basic_publish(names["topic"], "order.created", b"rejected")
        ch.basic_publish(
            names["headers"],
            "ignored.key",
            b"expired",
            pika.BasicProperties(headers={"kind": "a"}, expiration="1"),
        )
        ch.basic_publish(names["gone"], "any", b"orphan")
        for queue in ("orders", "temp"):
            method, _props, _body = ch.basic_get(names[queue])
            ch.basic_reject(method.delivery_tag, requeue=False)
    wait_for_depth(names["dlq"], 3)
    with channel() as ch:
        ch.exchange_delete(names["gone"])
        ch.confirm_delivery()
        ch.basic_publish("", names["dlq"], b"never dead-lettered")
    yield names
    with channel() as ch:
        for key in ("dlq", "orders", "audit", "temp"):
            ch.queue_delete(names[key])
        for key in ("dlx", "topic", "headers"):
            ch.exchange_delete(names[key])


def test_to_origin_replays_rejected_and_expired_messages(dead_letters: dict[str, str]) -> None:
    names = dead_letters
    dlq = names["dlq"]
    dry = move(settings(), dlq, Destination(origin=True), MoveOptions(dry_run=True))
    assert dry.routes == {
        (names["topic"], "order.created"): 1,
        (names["headers"], "ignored.key"): 1,
    }
    assert dry.left == {Left.no_origin: 1, Left.origin_missing: 1}
    assert depth(dlq) == 4

    result = move(settings(), dlq, Destination(origin=True))
    assert result.moved == 2
    assert result.left == {Left.no_origin: 1, Left.origin_missing: 1}
    assert not result.complete
    _method, props, body = get_with_pika(names["orders"])
    assert body == b"rejected"
    assert props.headers["x-death"][0]["reason"] == "rejected"  # kept as it was
    _method, props, body = get_with_pika(names["audit"])
    assert body == b"expired"
    assert props.expiration is None  # the broker moved it into x-death when it expired
    assert sorted(bodies(dlq)) == [b"never dead-lettered", b"orphan"]


def test_interrupt_in_the_middle_loses_nothing(queues: tuple[str, str], tmp_path: Path) -> None:
    """SIGINT while a move runs: every message is in the source or the destination."""
    source, target = queues
    total = 30000
    fill(source, [b"%d" % i for i in range(total)])
    script = (
        "import sys\n"
        "from mqctl.config import ConnectionOptions, resolve\n"
        "from mqctl.messaging.move import Destination, MoveOptions, move\n"
        f"r = move(resolve(ConnectionOptions(url={AMQP_URL!r}), env={{}}), {source!r},"
        f" Destination(queue={target!r}), MoveOptions(window=100), progress=lambda n: print(n, flush=True))\n"
        "print('moved', r.moved, r.interrupted, dict(r.left), file=sys.stderr)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    moved_so_far = 0
    while moved_so_far < 2000:
        moved_so_far += int(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=90)
    summary = err.decode().strip().splitlines()[-1]
    assert summary.startswith("moved ") and " True " in summary, summary
    moved = int(summary.split()[1])
    assert 2000 <= moved < total
    in_source, in_target = bodies(source), bodies(target)
    assert len(in_target) == moved
    assert sorted(set(in_source) | set(in_target), key=int) == [b"%d" % i for i in range(total)]
    assert not set(in_source) & set(in_target)  # graceful: no duplicates either


# --- the command -------------------------------------------------------------------------------


def test_cli_move_contract(clean_env: Path, queues: tuple[str, str], unique: str) -> None:
    from tests.messaging_support import mqctl

    source, target = queues
    fill(source, numbered(6))
    status, out, err = mqctl("move", source, "--to-queue", target, "--dry-run")
    assert (status, err) == (0, "")
    assert out == (
        f"       6  to exchange '' with routing key '{target}'\n"
        "moved 0 (dry run: 6 of 6 would move)\n"
    )
    status, out, err = mqctl("move", source, "--to-queue", target, "-n", "2")
    assert (status, out, err) == (0, "moved 2 of 2\n", "")
    status, out, err = mqctl("move", source, "--to-exchange", "amq.direct")
    assert status == 1
    assert out == f"moved 0 of 4; left in '{source}': returned unroutable 4 (312 NO_ROUTE: 4)\n"
    assert err == (
        f"mqctl: error: 4 of 4 message(s) stayed in queue '{source}'; nothing was lost: see the "
        "reasons above\n"
    )
    status, out, err = mqctl("move", source, "--to-exchange", f"{unique}-none")
    assert (status, out) == (1, "")
    assert err.startswith(
        f"mqctl: error: checking the destination exchange '{unique}-none' failed: 404 NOT_FOUND"
    )
    status, out, err = mqctl("move", source, "--to-queue", target, "--to-origin")
    assert (status, out) == (4, "")
    assert err == (
        "mqctl: error: give exactly one of --to-queue, --to-exchange and --to-origin (got "
        "--to-queue and --to-origin); e.g. mqctl move orders.dlq --to-origin\n"
    )
    status, out, err = mqctl("move", source, "--to-queue", target, "--match", "nonsense")
    assert status == 4 and err.startswith("mqctl: error: --match 'nonsense': expected NAME=VALUE")
    status, out, err = mqctl("move", source, "--to-url", "amqp://guest:guest@127.0.0.1:1/",
                             "--to-queue", target)  # fmt: skip
    assert status == 3 and "connection refused by 127.0.0.1:1" in err
    assert depth(source) == 4 and depth(target) == 2

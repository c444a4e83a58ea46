"""`mqctl consume` and `mqctl get` against the real broker: faithful output, every ack mode, and
no message lost on Ctrl-C, a broken pipe or an output error."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import signal
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pika
import pika.compat
import pika.spec
import pytest

from tests.conftest import AMQP_URL, broker_table_order
from tests.messaging_support import (
    channel,
    declare,
    delete,
    depth,
    mqctl,
    mqctl_process,
    publish_plain,
    queue,
)
from tests.run import command, process_env

__all__ = ["queue"]  # a fixture

pytestmark = pytest.mark.broker


def shortstr(text: str) -> bytes:
    raw = text.encode()
    return bytes((len(raw),)) + raw


# Header entries encoded by hand (RabbitMQ's field types), and how consume must show each.
HAND_HEADERS: list[tuple[str, bytes, Any]] = [
    ("s", b"S\x00\x00\x00\x04text", "text"),
    ("n", b"I\x00\x00\x00\x05", 5),
    ("big", b"l" + struct.pack(">q", 2**40), 2**40),
    ("d", b"d" + struct.pack(">d", 2.5), 2.5),
    ("b", b"t\x01", True),
    ("v", b"V", None),
    ("arr", b"A\x00\x00\x00\x0bI\x00\x00\x00\x01S\x00\x00\x00\x01a", [1, "a"]),
    ("tab", b"F\x00\x00\x00\x0e\x01kF\x00\x00\x00\x07\x01zb\x7f\x01yV",
     {"k": {"z": {"int8": 127}, "y": None}}),
    ("i8", b"b\xfb", {"int8": -5}),
    ("u8", b"B\xfa", {"uint8": 250}),
    ("i16", b"s\xfe\xd4", {"int16": -300}),
    ("u16", b"u\xfd\xe8", {"uint16": 65000}),
    ("u32", b"i\xee\x6b\x28\x00", {"uint32": 4_000_000_000}),
    ("i64", b"l\x00\x00\x00\x00\x00\x00\x00\x07", {"int64": 7}),
    ("f", b"f\x3f\xc0\x00\x00", {"float": 1.5}),
    ("dec", b"D\x02\x00\x00\x01\x3a", {"decimal": "3.14"}),
    ("raw", b"x\x00\x00\x00\x02\x00\x01", {"bytes": "AAE="}),
    ("ts", b"T" + struct.pack(">Q", 1704164645), {"timestamp": "2024-01-02T03:04:05Z"}),
    ("latin", b"S\x00\x00\x00\x01\xff", {"string_base64": "/w=="}),
    ("marker", b"F\x00\x00\x00\x08\x05floatt\x00", {"table": {"float": False}}),
]  # fmt: skip


class HandEncoded(pika.spec.BasicProperties):  # type: ignore[misc]
    """Properties whose bytes the test wrote itself; pika sends them as they are."""

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self.payload = payload

    def encode(self) -> list[bytes]:
        return [self.payload]


def hand_encoded_properties() -> bytes:
    entries = b"".join(shortstr(name) + wire for name, wire, _ in HAND_HEADERS)
    return (
        struct.pack(">H", 0xFFFC)  # all fourteen property flags
        + shortstr("text/plain")
        + shortstr("gzip")
        + struct.pack(">I", len(entries))
        + entries
        + b"\x02\x05"
        + shortstr("c-1")
        + shortstr("r-q")
        + shortstr("1000")
        + shortstr("m-1")
        + struct.pack(">Q", 1704164645)
        + shortstr("t")
        + shortstr("guest")
        + shortstr("app")
        + shortstr("cl")
    )


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_every_field_type_sent_by_pika_is_shown_faithfully(
    clean_env: Path, queue: str, broker_version: tuple[int, ...]
) -> None:
    with channel() as ch:
        ch.confirm_delivery()
        ch.basic_publish("", queue, b"\xff\xfe", HandEncoded(hand_encoded_properties()))
    status, out, err = mqctl("consume", "-q", queue, "-n", "1", "--format", "jsonl")
    assert (status, err) == (0, "")
    assert lines(out) == [
        {
            "exchange": "",
            "routing_key": queue,
            "redelivered": False,
            "delivery_tag": 1,
            "properties": {
                "content_type": "text/plain",
                "content_encoding": "gzip",
                "headers": {name: shown for name, _, shown in HAND_HEADERS},
                "delivery_mode": 2,
                "priority": 5,
                "correlation_id": "c-1",
                "reply_to": "r-q",
                "expiration": "1000",
                "message_id": "m-1",
                "timestamp": "2024-01-02T03:04:05Z",
                "type": "t",
                "user_id": "guest",
                "app_id": "app",
                "cluster_id": "cl",
            },
            "body": "//4=",
            "body_encoding": "base64",
        }
    ]
    names = [name for name, _, _ in HAND_HEADERS]
    assert list(lines(out)[0]["properties"]["headers"]) == broker_table_order(names, broker_version)


def test_pikas_own_header_types_are_shown_faithfully(clean_env: Path, queue: str) -> None:
    stamp = dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    headers = {
        "s": "ünï",
        "n": -1,
        "l": pika.compat.long(3),
        "dec": decimal.Decimal("-1.50"),
        "ts": stamp,
        "b": b"\x00\xff",
        "t": {"x": [1, None, True, "y"]},
    }
    publish_plain(queue, [b'{"a": 1}'], headers=headers, timestamp=1)
    status, out, _ = mqctl("get", "-q", queue, "--format", "jsonl")
    assert status == 0
    assert lines(out)[0]["properties"] == {
        "headers": {
            "s": "ünï",
            "n": -1,
            "l": {"int64": 3},
            "dec": {"decimal": "-1.5"},  # pika normalizes decimals when it encodes them
            "ts": {"timestamp": "2030-05-06T07:08:09Z"},
            "b": {"bytes": "AP8="},
            "t": {"x": [1, None, True, "y"]},
        },
        "timestamp": "1970-01-01T00:00:01Z",
    }
    assert lines(out)[0]["body"] == '{"a": 1}'


def test_pretty_json_and_body_only_formats(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"one", b"two"], headers={"x": 1}, priority=2)
    status, out, _ = mqctl("get", "-q", queue, "--requeue", "-n", "1")
    assert status == 0
    assert out == (
        f'message 1  exchange ""  routing key "{queue}"  delivery tag 1\n'
        "  headers:\n    x: 1\n  priority: 2\n  body:\none\n"
    )
    status, out, _ = mqctl("consume", "-q", queue, "-n", "2", "--format", "json", "--requeue")
    assert [m["body"] for m in json.loads(out)] == ["one", "two"]
    status, out, _ = mqctl("consume", "-q", queue, "-n", "2", "--body-only")
    assert (status, out) == (0, "one\ntwo\n")


def test_default_ack_after_write_and_count(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"m%d" % i for i in range(10)])
    status, out, _ = mqctl("consume", "-q", queue, "-n", "3", "--body-only")
    assert (status, out) == (0, "m0\nm1\nm2\n")
    assert depth(queue) == 7
    # The rest were never delivered beyond the count: none comes back marked redelivered.
    status, out, _ = mqctl("consume", "-q", queue, "-n", "7", "--format", "jsonl")
    assert [(m["body"], m["redelivered"]) for m in lines(out)] == [
        (f"m{i}", False) for i in range(3, 10)
    ]
    assert depth(queue) == 0


def test_requeue_is_a_look(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"a", b"b", b"c"])
    status, out, _ = mqctl("consume", "-q", queue, "--requeue", "-t", "0.5", "--body-only")
    assert (status, out) == (0, "a\nb\nc\n")
    assert depth(queue) == 3
    status, out, _ = mqctl("get", "-q", queue, "--requeue", "-n", "2", "--body-only")
    assert (status, out) == (0, "a\nb\n")
    assert depth(queue) == 3


def test_reject_dead_letters(clean_env: Path, unique: str) -> None:
    dlq = f"{unique}-dlq"
    declare(dlq)
    declare(unique, **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
    try:
        publish_plain(unique, [b"a", b"b", b"c"])
        status, out, _ = mqctl("consume", "-q", unique, "-n", "2", "--reject", "--body-only")
        assert (status, out) == (0, "a\nb\n")
        status, out, _ = mqctl("get", "-q", unique, "--reject", "--body-only")
        assert (status, out) == (0, "c\n")
        assert depth(unique) == 0
        deadline = time.monotonic() + 5
        while depth(dlq) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert depth(dlq) == 3
    finally:
        delete(unique)
        delete(dlq)


def test_no_ack_and_get(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"a", b"b", b"c", b"d"])
    status, out, _ = mqctl("consume", "-q", queue, "-n", "2", "--no-ack", "--body-only")
    assert (status, out) == (0, "a\nb\n")
    status, out, err = mqctl("get", "-q", queue, "-n", "5", "--body-only")
    assert (status, out, err) == (0, "c\nd\n", "")
    assert depth(queue) == 0
    status, out, err = mqctl("get", "-q", queue)
    assert (status, out, err) == (0, "", f"queue '{queue}' is empty\n")


def test_timeout_short_of_count_exits_1(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"a", b"b"])
    status, out, err = mqctl("consume", "-q", queue, "-n", "5", "-t", "0.3", "--body-only")
    assert (status, out) == (1, "a\nb\n")
    assert err == (
        f"mqctl: error: timed out waiting for messages on queue '{queue}': 2 of 5 written; "
        "raise --timeout, or check that messages reach the queue\n"
    )


@pytest.mark.parametrize("command", ["consume", "get"])
def test_unknown_queue(clean_env: Path, unique: str, command: str) -> None:
    status, out, err = mqctl(command, "-q", unique)
    doing = "consuming from" if command == "consume" else "getting from"
    assert (status, out) == (1, "")
    assert err == (
        f"mqctl: error: {doing} queue '{unique}' failed: 404 NOT_FOUND - no queue '{unique}' "
        "in vhost '/'; check the name and the vhost (--vhost)\n"
    )


def test_bad_consume_input(clean_env: Path, queue: str) -> None:
    status, _, err = mqctl("consume", "-q", queue, "--requeue", "--reject")
    assert (status, err) == (
        4,
        "mqctl: error: --requeue and --reject were both given; choose one acknowledgement mode\n",
    )
    status, _, err = mqctl("consume", "-q", queue, "--offset", "soon")
    assert (status, err) == (
        4,
        "mqctl: error: --offset 'soon' is not a stream offset; use first, last, next, an offset "
        "number, an ISO 8601 time or an interval like 30m\n",
    )


# --- nothing lost ---------------------------------------------------------------------------


def wait_for_consumer(queue: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with channel() as ch:
            if ch.queue_declare(queue, passive=True).method.consumer_count:
                return
        time.sleep(0.05)
    raise AssertionError(f"no consumer on {queue}")


def test_ctrl_c_with_everything_written(clean_env: Path, queue: str, tmp_path: Path) -> None:
    publish_plain(queue, [b"m%d" % i for i in range(20)])
    out_path = tmp_path / "out.jsonl"
    with out_path.open("wb") as out:
        proc = mqctl_process("consume", "-q", queue, "--format", "jsonl", stdout=out,
                             stderr=subprocess.PIPE)  # fmt: skip
        wait_for_consumer(queue)
        deadline = time.monotonic() + 10
        while out_path.read_text().count("\n") < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err.decode() == "mqctl: error: interrupted (Ctrl-C): 20 message(s) written\n"
    assert len(out_path.read_text().splitlines()) == 20
    assert depth(queue) == 0


def test_broken_pipe_keeps_unwritten_messages(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"m%d" % i for i in range(30)])
    proc = subprocess.run(
        f"{subprocess.list2cmdline(mqctl_cmd(queue))} | head -1",
        shell=True,
        capture_output=True,
        executable="/bin/bash",
        env=proc_env(),
        timeout=30,
    )
    assert proc.stdout == b"m0\n"
    # How many were put back depends on how many the broker had delivered by then.
    match = re.fullmatch(
        r"mqctl: error: the output was closed: 1 message\(s\) written, (\d+) put back in the "
        r"queue; nothing unwritten was acked\n",
        proc.stderr.decode(),
    )
    assert match and 1 <= int(match[1]) <= 29, proc.stderr
    assert depth(queue) == 29
    status = subprocess.run(
        f"set -o pipefail; {subprocess.list2cmdline(mqctl_cmd(queue))} | head -1 >/dev/null",
        shell=True, executable="/bin/bash", env=proc_env(), capture_output=True, timeout=30,
    ).returncode  # fmt: skip
    assert status == 1
    assert depth(queue) == 28


def mqctl_cmd(queue: str) -> list[str]:
    return command("consume", "-q", queue, "--body-only", "--url", AMQP_URL)


def proc_env() -> dict[str, str]:
    return process_env()


def test_output_error_keeps_messages(clean_env: Path, queue: str) -> None:
    publish_plain(queue, [b"x" * 1000 for _ in range(5)])
    with open("/dev/full", "wb") as full:
        proc = mqctl_process("consume", "-q", queue, "-n", "5", stdout=full, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    match = re.fullmatch(
        r"mqctl: error: writing the output failed \(No space left on device\): 0 message\(s\) "
        r"written, (\d+) put back in the queue; nothing unwritten was acked\n",
        err.decode(),
    )
    assert match and 1 <= int(match[1]) <= 5, err
    assert depth(queue) == 5


# --- tap and streams ------------------------------------------------------------------------


def test_tap_an_exchange(clean_env: Path, unique: str, tmp_path: Path) -> None:
    with channel() as ch:
        ch.exchange_declare(unique, "topic", auto_delete=False)
    out_path = tmp_path / "tap.out"
    try:
        with out_path.open("wb") as out:
            proc = mqctl_process("consume", "-e", unique, "--binding-key", "order.*", "-n", "2",
                                 "-t", "20", "--body-only", stdout=out,
                                 stderr=subprocess.PIPE)  # fmt: skip
            deadline = time.monotonic() + 20
            with channel() as ch:
                while proc.poll() is None and time.monotonic() < deadline:
                    ch.basic_publish(unique, "order.created", b"seen")
                    ch.basic_publish(unique, "invoice.created", b"not bound")
                    time.sleep(0.05)
            _, err = proc.communicate(timeout=20)
        assert (proc.returncode, out_path.read_bytes(), err) == (0, b"seen\nseen\n", b"")
    finally:
        with channel() as ch:
            ch.exchange_delete(unique)


def test_stream_offsets(clean_env: Path, unique: str) -> None:
    with channel() as ch:
        ch.queue_declare(unique, durable=True, arguments={"x-queue-type": "stream"})
    try:
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
        publish_plain(unique, [b"s%d" % i for i in range(5)])

        def read(*args: str) -> tuple[int, str]:
            status, out, _ = mqctl("consume", "-q", unique, "--body-only", *args)
            return status, out

        assert read("--offset", "first", "-n", "5") == (0, "s0\ns1\ns2\ns3\ns4\n")
        assert read("--offset", "3", "-n", "2") == (0, "s3\ns4\n")
        assert read("--offset", "last", "-n", "1") == (0, "s4\n")
        assert read("--offset", "next", "-t", "0.5") == (0, "")
        assert read("--offset", before.isoformat(), "-n", "5") == (0, "s0\ns1\ns2\ns3\ns4\n")
        assert read("--offset", "1h", "-n", "2") == (0, "s0\ns1\n")
        status, _, err = mqctl("consume", "-q", unique, "--offset", "first", "--reject")
        assert (status, err) == (
            4,
            "mqctl: error: --offset (a stream queue) does not combine with --reject; stream "
            "queues keep their messages; acks only pace the consumer\n",
        )
    finally:
        delete(unique)

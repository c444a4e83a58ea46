"""`mqctl publish` against the real broker, checked with plain pika on the other side."""

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

import pytest

from tests.conftest import broker_table_order
from tests.messaging_support import (
    declare,
    delete,
    depth,
    get_with_pika,
    mqctl,
    mqctl_process,
    queue,
)

__all__ = ["queue"]  # a fixture

pytestmark = pytest.mark.broker

HEADERS = [
    # (--header spec, the exact wire encoding of the value, written by hand)
    ("s=text", b"S\x00\x00\x00\x04text"),
    ("n=5", b"I\x00\x00\x00\x05"),
    ("big=1099511627776", b"l" + struct.pack(">q", 2**40)),
    ("d=2.5", b"d" + struct.pack(">d", 2.5)),
    ("b=true", b"t\x01"),
    ("v=null", b"V"),
    ('arr=[1,"a"]', b"A\x00\x00\x00\x0bI\x00\x00\x00\x01S\x00\x00\x00\x01a"),
    ('tab={"k": 1}', b"F\x00\x00\x00\x07\x01kI\x00\x00\x00\x01"),
    ("i8:int8=-5", b"b\xfb"),
    ("u8:uint8=250", b"B\xfa"),
    ("i16:int16=-300", b"s\xfe\xd4"),
    ("u16:uint16=65000", b"u\xfd\xe8"),
    ("i32:int32=7", b"I\x00\x00\x00\x07"),
    ("u32:uint32=4000000000", b"i\xee\x6b\x28\x00"),
    ("i64:int64=7", b"l\x00\x00\x00\x00\x00\x00\x00\x07"),
    ("f:float=1.5", b"f\x3f\xc0\x00\x00"),
    ("db:double=2", b"d" + struct.pack(">d", 2.0)),
    ("dec:decimal=3.14", b"D\x02\x00\x00\x01\x3a"),
    ("raw:bytes=AAE=", b"x\x00\x00\x00\x02\x00\x01"),
    ("ts:timestamp=2024-01-02T03:04:05Z", b"T" + struct.pack(">Q", 1704164645)),
    ("str:string=5", b"S\x00\x00\x00\x015"),
    ("vd:void=", b"V"),
]
PROPERTY_FLAGS = [
    "--content-type", "application/json",
    "--content-encoding", "utf-8",
    "--delivery-mode", "persistent",
    "--priority", "7",
    "--correlation-id", "corr-1",
    "--reply-to", "replies",
    "--expiration", "60000",
    "--message-id", "mid-1",
    "--timestamp", "2024-01-02T03:04:05Z",
    "--type", "order.created",
    "--user-id", "guest",
    "--app-id", "mqctl-tests",
    "--cluster-id", "c1",
]  # fmt: skip


def expected_table(version: tuple[int, ...]) -> bytes:
    """HEADERS as the consumer gets them from a broker of `version` (4.x sorts the keys)."""
    wires = {spec.split("=")[0].split(":")[0].encode(): wire for spec, wire in HEADERS}
    entries = b"".join(
        bytes((len(name),)) + name + wires[name]
        for name in broker_table_order(list(wires), version)
    )
    return struct.pack(">I", len(entries)) + entries


def test_every_property_and_header_type_reaches_pika(
    clean_env: Path, queue: str, broker_version: tuple[int, ...]
) -> None:
    args = ["publish", "-k", queue, "--body", "héllo", *PROPERTY_FLAGS]
    for spec, _ in HEADERS:
        args += ["-H", spec]
    status, out, err = mqctl(*args)
    assert (status, out, err) == (0, "sent 1, confirmed 1, returned 0, nacked 0\n", "")

    method, props, body = get_with_pika(queue)
    assert body == "héllo".encode()
    assert (method.exchange, method.routing_key) == ("", queue)
    assert (props.content_type, props.content_encoding) == ("application/json", "utf-8")
    assert (props.delivery_mode, props.priority) == (2, 7)
    assert (props.correlation_id, props.reply_to, props.expiration) == (
        "corr-1",
        "replies",
        "60000",
    )
    assert (props.message_id, props.timestamp, props.type) == ("mid-1", 1704164645, "order.created")
    assert (props.user_id, props.app_id, props.cluster_id) == ("guest", "mqctl-tests", "c1")
    # Every header, in order, with its exact field type on the wire...
    assert expected_table(broker_version) in props.raw
    # ...and as pika reads the types it understands.
    headers = props.headers
    assert headers["s"] == "text" and headers["n"] == 5 and headers["big"] == 2**40
    assert headers["b"] is True and headers["v"] is None and headers["vd"] is None
    assert headers["arr"] == [1, "a"] and headers["tab"] == {"k": 1}
    assert (headers["i8"], headers["u8"], headers["i16"], headers["u16"]) == (-5, 250, -300, 65000)
    assert (headers["u32"], headers["i64"]) == (4_000_000_000, 7)
    assert headers["dec"] == decimal.Decimal("3.14") and headers["raw"] == b"\x00\x01"
    assert headers["ts"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert headers["str"] == "5"


def test_properties_json_file_with_flags_over_it(
    clean_env: Path, queue: str, tmp_path: Path
) -> None:
    path = tmp_path / "props.json"
    path.write_text(
        json.dumps({"priority": 9, "app_id": "from-file", "headers": {"a": {"uint8": 1}, "b": "x"}})
    )
    status, _, _ = mqctl(
        "publish", "-k", queue, "--body-base64", "AP8=", "--properties-json", str(path),
        "--priority", "3", "-H", "b:int16=2",
    )  # fmt: skip
    assert status == 0
    _, props, body = get_with_pika(queue)
    assert body == b"\x00\xff"
    assert (props.priority, props.app_id) == (3, "from-file")
    assert props.headers == {"a": 1, "b": 2}
    assert b"\x01aB\x01\x01bs\x00\x02" in props.raw


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--priority", "256"], "--priority: priority 256 is out of range; use 0..255"),
        (
            ["--delivery-mode", "3"],
            "--delivery-mode: '3' is not a delivery mode; use 1, 2, transient or persistent",
        ),
        (
            ["-H", "broken"],
            "--header 'broken': expected KEY=VALUE or KEY:TYPE=VALUE; "
            "e.g. --header x-retry=3 or --header sent:timestamp=now",
        ),
        (
            ["-H", "n:uint8=-1"],
            "--header 'n:uint8=-1': -1 is out of range for uint8 (0..255); give a valid uint8",
        ),
        (
            ["--timestamp", "yesterday"],
            "--timestamp: 'yesterday' is not a timestamp; "
            "use epoch seconds, ISO 8601 (2024-01-02T03:04:05Z) or now",
        ),
        (["--body-base64", "***"], "--body-base64: not valid base64; e.g. --body-base64 aGVsbG8="),
        (
            ["--priority", "5", "--properties-json", '{"priority": "high"}'],
            "--properties-json: priority: 'high' is not a number; use 0..255",
        ),
    ],
)
def test_bad_input_publishes_nothing(
    clean_env: Path, queue: str, args: list[str], message: str
) -> None:
    body = [] if "--body-base64" in args else ["--body", "x"]
    status, out, err = mqctl("publish", "-k", queue, *body, "-n", "3", *args)
    assert (status, out, err) == (4, "", f"mqctl: error: {message}\n")
    assert depth(queue) == 0


def test_unknown_exchange_publishes_nothing(clean_env: Path, unique: str) -> None:
    status, out, err = mqctl("publish", "-e", unique, "-k", "x", "--body", "x")
    assert (status, out) == (1, "")
    assert err == (
        f"mqctl: error: checking exchange '{unique}' failed: 404 NOT_FOUND - no exchange "
        f"'{unique}' in vhost '/'; check the name and the vhost (--vhost)\n"
    )


def test_mandatory_returns_give_exit_1(clean_env: Path, unique: str) -> None:
    status, out, err = mqctl("publish", "-k", unique, "--body", "x", "-n", "2", "--mandatory")
    assert status == 1
    assert out == "sent 2, confirmed 2, returned 2 (312 NO_ROUTE: 2), nacked 0\n"
    assert err == (
        "mqctl: error: 2 returned as unroutable of 2 messages; check the exchange, routing key "
        "and bindings (returns) or the queue's limits (nacks)\n"
    )
    # Without confirms the returns are still counted.
    status, out, _ = mqctl("publish", "-k", unique, "--body", "x", "--mandatory",
                           "--no-confirm")  # fmt: skip
    assert (status, out) == (
        1,
        "sent 1, confirmed - (confirms off), returned 1 (312 NO_ROUTE: 1), nacked -\n",
    )


def test_nacks_from_a_full_queue_give_exit_1(clean_env: Path, unique: str) -> None:
    declare(unique, **{"x-max-length": 2, "x-overflow": "reject-publish"})
    try:
        status, out, err = mqctl(
            "publish", "-k", unique, "--body", "x", "-n", "5", "--confirm-window", "1"
        )
        assert status == 1
        assert out == "sent 5, confirmed 2, returned 0, nacked 3\n"
        assert err.startswith("mqctl: error: 3 nacked by the broker of 5 messages;")
        assert depth(unique) == 2
    finally:
        delete(unique)


def test_count_rate_and_window(clean_env: Path, queue: str) -> None:
    started = time.monotonic()
    status, out, _ = mqctl("publish", "-k", queue, "--body", "r", "-n", "6", "--rate", "40")
    assert (status, out) == (0, "sent 6, confirmed 6, returned 0, nacked 0\n")
    assert time.monotonic() - started >= 5 / 40  # the 6th message is due 125 ms after the first
    status, out, _ = mqctl(
        "publish", "-k", queue, "--body", "w", "-n", "2000", "--confirm-window", "7"
    )
    assert (status, out) == (0, "sent 2000, confirmed 2000, returned 0, nacked 0\n")
    assert depth(queue) == 2006


def test_saved_queue_replays_exactly(
    clean_env: Path, queue: str, unique: str, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    """consume --format jsonl > file; publish --input file: the same bytes on the wire."""
    args = ["publish", "-k", queue, "--body-base64", "/wA=", *PROPERTY_FLAGS]
    for spec, _ in HEADERS:
        args += ["-H", spec]
    assert mqctl(*args)[0] == 0
    assert mqctl("publish", "-k", queue, "--body", "second", "-H", "x:float=0.25")[0] == 0
    status, saved, _ = mqctl("consume", "-q", queue, "-n", "2", "--format", "jsonl")
    assert status == 0
    path = tmp_path / "saved.jsonl"
    path.write_text(saved)

    copy = f"{unique}-copy"
    declare(copy)
    try:
        status, out, _ = mqctl("publish", "--input", str(path), "-k", copy)
        assert (status, out) == (0, "sent 2, confirmed 2, returned 0, nacked 0\n")
        _, props, body = get_with_pika(copy)
        assert body == b"\xff\x00"
        assert expected_table(broker_version) in props.raw
        assert props.timestamp == 1704164645 and props.user_id == "guest"
        _, props, body = get_with_pika(copy)
        assert body == b"second" and b"\x01xf\x3e\x80\x00\x00" in props.raw
    finally:
        delete(copy)


def test_input_errors_name_the_line(clean_env: Path, queue: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"routing_key": "a", "body": "ok"}\n{"body": 5}\n')
    status, out, err = mqctl("publish", "--input", str(path), "-k", queue)
    # --input streams: the line before the bad one was published (and confirmed) already.
    assert (status, out) == (4, "sent 1, confirmed 1, returned 0, nacked 0\n")
    assert err == (
        f"mqctl: error: {path}:2: body must be a string (2 line(s) read, 1 sent, 1 confirmed); "
        'use "body_encoding": "base64" for bytes\n'
    )
    assert depth(queue) == 1


def test_access_refused(clean_env: Path, vhost: str, broker_version: tuple[int, ...]) -> None:
    """A vhost where guest may not write: the broker's 403 becomes a one-line error, exit 1."""
    import requests

    from tests.conftest import API_URL, AUTH

    requests.put(
        f"{API_URL}/api/permissions/{vhost}/guest",
        json={"configure": ".*", "write": "^$", "read": ".*"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    status, _, err = mqctl(
        "publish", "-e", "amq.direct", "-k", "x", "--body", "x", "--vhost", vhost
    )
    assert status == 1
    access = "access" if broker_version < (4,) else "write access"  # 4.x names the kind
    assert err.startswith(
        f"mqctl: error: publishing failed: 403 ACCESS_REFUSED - {access} to exchange 'amq.direct' "
        f"in vhost '{vhost}' refused for user "
    )


def test_broker_refusing_a_property_is_one_line(clean_env: Path, queue: str) -> None:
    status, out, err = mqctl("publish", "-k", queue, "--body", "x", "--user-id", "other")
    assert status == 1
    assert out == "sent 1, confirmed 0, returned 0, nacked 0, unconfirmed 1\n"
    assert err.startswith(
        "mqctl: error: publishing failed: 406 PRECONDITION_FAILED - user_id property set to "
        "'other' but authenticated user was "
    )
    assert err.endswith(
        "(1 sent, 0 confirmed, 1 unconfirmed); check the message's properties (user_id must be "
        "the connected user)\n"
    )
    assert depth(queue) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_reports_what_was_sent(clean_env: Path, queue: str, signum: signal.Signals) -> None:
    proc = mqctl_process(
        "publish", "-k", queue, "--body", "x", "-n", "100000", "--rate", "200",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while depth(queue) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    match = re.fullmatch(rb"sent (\d+), confirmed (\d+), returned 0, nacked 0\n", out)
    assert match, out
    sent = int(match[1])
    assert sent == int(match[2])  # the confirms on their way were waited for
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert err.decode() == f"mqctl: error: interrupted ({name}): {sent} sent, {sent} confirmed\n"
    assert depth(queue) == sent

"""`mqctl wire read` end to end: real captures of real clients, exit statuses and messages."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mqctl.wire.encoder import PROTOCOL_HEADER, encode_method
from tests.run import Run, run_in_process
from tests.wire_helpers import pcap_bytes

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MQCTL = str(ROOT / ".venv" / "bin" / "mqctl")
REAL = ["pika_session.pcapng", "pika_heartbeats.pcap", "amqp_tools.pcap", "amqplib.pcapng"]


def run(args: list[str]) -> Run:
    return run_in_process("wire", "read", *args)


def jsonl(path: Path | str, *extra: str) -> list[dict[str, Any]]:
    status, out, err = run([str(path), "--format", "jsonl", *extra])
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("name", REAL)
def test_real_captures_decode_cleanly(name: str) -> None:
    records = jsonl(DATA / name)
    assert records[0]["type"] == "protocol-header"
    assert not [r for r in records if r["type"] in ("gap", "error") or "error" in r]
    assert records[-1]["method"] == "Connection.CloseOk"


def test_pika_session_human_view() -> None:
    status, out, _ = run([str(DATA / "pika_session.pcapng")])
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("#1 127.0.0.1:48590 → 127.0.0.1:5672")
    expected = [
        "#1 → ch1 Basic.Publish x=mqctl-cap-530f9fb6.x rk=order.created mandatory",
        "#1 ← ch1 Basic.Return 312 NO_ROUTE x=mqctl-cap-530f9fb6.x rk=nowhere",
        "#1 → ch1 Basic.Nack tag=2",
        "#1 ← ch2 Channel.Close 404 NOT_FOUND - no queue 'mqctl-cap-530f9fb6.missing' in vhost '/' "
        "(Queue.Declare)  [NOT_FOUND]",
        '#1 → ch1   ContentBody 15 B "second: nack me"',
        "#1 ← ch0 Connection.Tune channel_max=2047 frame_max=131072 heartbeat=60",
    ]
    bodies = [line[16:] for line in lines]  # without the time of day
    for line in expected:
        assert line in bodies
    # the JSON body is pretty-printed under its frame, and the password is masked
    assert '        "order": 1,' in lines
    assert 'response="\\u0000guest\\u0000****"' in out and "\\u0000guest\\u0000guest" not in out


def test_pika_session_every_property_and_header_type() -> None:
    records = jsonl(DATA / "pika_session.pcapng")
    header = next(r for r in records if r["type"] == "header" and r["body_size"] == 57)
    props = header["properties"]
    assert set(props) == {
        "content_type", "content_encoding", "headers", "delivery_mode", "priority",
        "correlation_id", "reply_to", "expiration", "message_id", "timestamp", "type", "user_id",
        "app_id", "cluster_id",
    }  # fmt: skip
    assert props["timestamp"] == "2023-11-14T22:13:20Z"
    assert props["headers"] == {
        "string": "héllo wörld",
        "bytes": {"bytes": "AAFiaW5hcnn/"},
        "true": True,
        "false": False,
        "int32": -123456,
        "int64": 2**40 + 7,
        "decimal": "3.14",
        "negative-decimal": "-12.34",
        "timestamp": "2023-11-14T22:13:20Z",
        "table": {"nested": {"deep": 1}, "list": [1, "two", None]},
        "array": [1, "two", True, [3], {"k": "v"}],
        "void": None,
    }


def test_amqplib_field_types() -> None:
    records = jsonl(DATA / "amqplib.pcapng")
    header = next(r for r in records if r["type"] == "header")
    assert header["properties"]["headers"] == {
        "int8": -8,
        "uint8": 200,
        "int16": -1600,
        "uint16": 60000,
        "int32": -320000,
        "uint32": 4000000000,
        "int64": 1234567890123,
        "float": 1.5,
        "double": 2.25,
        "decimal": "3.14",
        "timestamp": "2023-11-14T22:13:20Z",
        "text": "node",
        "bool": True,
        "nested": {"a": [1, "b"]},
    }
    _status, out, _ = run([str(DATA / "amqplib.pcapng"), "-v", "--type", "header"])
    for typed in ("(b short-short-int) = -8", "(u short-uint) = 60000", "(f float) = 1.5"):
        assert typed in out


def test_amqp_tools_connections_and_filters() -> None:
    records = jsonl(DATA / "amqp_tools.pcap", "--method", "Connection.StartOk")
    assert len(records) == 5
    assert {r["args"]["client_properties"]["product"] for r in records} == {"rabbitmq-c"}
    assert [r["conn"] for r in records] == [1, 2, 3, 4, 5]
    only = jsonl(DATA / "amqp_tools.pcap", "--conn", "2", "--type", "body")
    assert [(r["conn"], r["preview"]) for r in only] == [(2, "hello 0")]


def test_heartbeats_and_a_message_over_several_body_frames() -> None:
    records = jsonl(DATA / "pika_heartbeats.pcap")
    beats = [r for r in records if r["type"] == "heartbeat"]
    assert {r["src"].endswith(":5672") for r in beats} == {True, False}  # both directions
    header = next(r for r in records if r["type"] == "header")
    bodies = [r for r in records if r["type"] == "body" and r["src"] == header["src"]]
    assert len(bodies) >= 5 and max(r["size"] for r in bodies) == 4096 - 8
    assert sum(r["size"] for r in bodies) == header["body_size"] == 20480


def test_summary_json() -> None:
    status, out, _ = run([str(DATA / "pika_session.pcapng"), "--summary", "-f", "jsonl"])
    assert status == 0
    total = json.loads(out)["total"]
    assert total["messages"] == {"published": 6, "delivered": 3, "fetched": 1}
    assert total["returns"] == {"312 NO_ROUTE": 1}
    assert total["consumer_acks"]["nacked"] == 1 and total["consumer_acks"]["rejected"] == 1
    assert total["confirms"]["acked"] == 4


def test_summary_text() -> None:
    status, out, _ = run([str(DATA / "pika_session.pcapng"), "--summary"])
    assert status == 0
    assert "  messages: 6 published, 3 delivered, 1 fetched" in out
    assert "  returned: 1 x 312 NO_ROUTE" in out
    assert "closed by server: 404 NOT_FOUND" in out


def test_stdin_and_gzip(tmp_path: Path) -> None:
    source = DATA / "amqplib.pcapng"
    direct = subprocess.run(
        [MQCTL, "wire", "read", str(source), "-f", "jsonl"], capture_output=True, check=True
    ).stdout
    piped = subprocess.run(
        [MQCTL, "wire", "read", "-", "-f", "jsonl"],
        input=gzip.compress(source.read_bytes()),
        capture_output=True,
        check=True,
    ).stdout
    assert piped == direct and direct.count(b"\n") == 31


def error_of(args: list[str]) -> tuple[int, str, str]:
    status, out, err = run(args)
    assert err.count("\n") == 1 and "Traceback" not in err
    return status, out, err


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    assert error_of([str(path)]) == (
        4,
        "",
        f"mqctl: error: {path}: the capture is empty; capture some traffic first\n",
    )


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    status, _, err = error_of([str(path)])
    assert status == 4
    assert err == (
        f"mqctl: error: {path}: not a pcap or pcapng capture (starts with 68656c6c); "
        "give a file written by tcpdump -w, dumpcap or Wireshark (gzip is fine)\n"
    )


def test_unknown_link_type(tmp_path: Path) -> None:
    path = tmp_path / "usb.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 189)
    path.write_bytes(header + struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
    status, _, err = error_of([str(path)])
    assert status == 4
    assert err.startswith("mqctl: error: unsupported link type 189 in the capture; ")


def test_missing_file(tmp_path: Path) -> None:
    status, _, err = error_of([str(tmp_path / "nope.pcap")])
    assert status == 4 and "cannot open capture" in err


def test_cut_off_mid_way_keeps_the_output_and_exits_1(tmp_path: Path) -> None:
    data = (DATA / "pika_session.pcapng").read_bytes()
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[: len(data) // 2])
    status, out, err = error_of([str(path), "-f", "jsonl"])
    assert status == 1
    assert "capture file cut off at byte" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) > 20 and records[0]["type"] == "protocol-header"


def test_cut_off_in_the_file_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes((DATA / "amqp_tools.pcap").read_bytes()[:12])
    status, out, err = error_of([str(path)])
    assert status == 4 and out == "" and "cut off" in err


def test_bad_type_option() -> None:
    status, _, err = error_of([str(DATA / "amqp_tools.pcap"), "--type", "frame"])
    assert status == 4
    assert err.startswith(
        "mqctl: error: Invalid value for '--type': 'frame' is not one of 'protocol-header', "
    )


def test_help_has_examples() -> None:
    status, out, _ = run_in_process("wire", "read", "--help")
    assert status == 0
    assert "Example: mqctl wire read capture.pcapng" in out
    assert "--summary" in out and "--method" in out


def test_loss_shows_in_human_view_and_summary(tmp_path: Path) -> None:
    frames = [encode_method(1, "Basic.Ack", delivery_tag=n) for n in range(1, 6)]
    stream = PROTOCOL_HEADER + b"".join(frames)
    lost = (8 + 2 * len(frames[0]), 8 + 3 * len(frames[0]))  # the third Ack
    segments = [(True, 1, stream[: lost[0]]), (True, 1 + lost[1], stream[lost[1] :])]
    path = tmp_path / "lossy.pcap"
    path.write_bytes(pcap_bytes(segments))
    status, out, _ = run([str(path)])
    assert status == 0
    lines = [line[16:] for line in out.splitlines()[1:]]
    assert lines[0] == "#1 → protocol header AMQP 0-9-1"
    assert lines[3] == ("#1 → GAP: 21 byte(s) lost: segment missing from the capture at offset 50")
    assert [line.split()[-1] for line in lines if "Basic.Ack" in line] == [
        "tag=1", "tag=2", "tag=4", "tag=5",
    ]  # fmt: skip
    status, out, _ = run([str(path), "--summary"])
    assert "  problems: 1 x gap" in out


def test_stdin_is_decoded_as_it_arrives() -> None:
    """A live pipe (tcpdump -U -w - | mqctl wire read -): each frame shows without waiting for
    the end of the input or a full buffer."""
    import select

    data = (DATA / "amqp_tools.pcap").read_bytes()
    proc = subprocess.Popen(
        [MQCTL, "wire", "read", "-", "-f", "jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(data[:3000])  # the file header and the first packets only
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "nothing decoded while the input stays open"
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "protocol-header"
        proc.stdin.write(data[3000:])
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == 0


def test_human_view_shows_hostile_json_bodies(tmp_path: Path) -> None:
    """A JSON body with a lone surrogate escape, or nested past Python's recursion limit, used
    to end the human view with an internal error (status 1)."""
    from mqctl.wire.encoder import encode_message

    bodies = [b'{"s": "\\ud800", "n": 1e400}', b"[" * 2000 + b"]" * 2000]
    stream = PROTOCOL_HEADER + b"".join(
        encode_message(
            1, "Basic.Publish", body, {"content_type": "application/json"}, routing_key="q"
        )
        for body in bodies
    )
    path = tmp_path / "hostile.pcap"
    path.write_bytes(pcap_bytes([(True, 1, stream)]))
    status, out, err = run([str(path)])
    assert (status, err) == (0, "")
    assert '        "s": "\\ud800",\n        "n": Infinity\n      }\n' in out
    assert 'ContentBody 4000 B "[[[[' in out  # too deep for a tree: shown as text

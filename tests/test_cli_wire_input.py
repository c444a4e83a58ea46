"""`wire` options and views that used to mislead (issue 19): exact lines and exit statuses."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqctl.errors import BadInput
from mqctl.wire.proxy import parse_host_port
from mqctl.wire.render_human import short
from mqctl.wire.secret_mask import ClientSecretMask
from tests.live_traffic import start_proxy
from tests.run import Run, run_in_process, start_process

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def read(*args: str) -> Run:
    return run_in_process("wire", "read", *args)


# --- the human view ----------------------------------------------------------------------------


def test_tables_and_arrays_are_cut_between_entries_never_inside_a_number() -> None:
    headers = {"name": "order-created-event", "count": 12, "uint32": 4000000000, "big": 1 << 62}
    headers["more"] = [1, 2, 3]
    assert short(headers) == "{name=order-created-event, count=12, uint32=4000000000, …}"
    assert short(headers, 200).endswith("big=4611686018427387904, more=[1, 2, 3]}")
    assert short([4000000000] * 10) == (
        "[4000000000, 4000000000, 4000000000, 4000000000, 4000000000, 4000000000, …]"
    )
    assert short([1, 2, 3], 9) == "[1, 2, 3]"
    assert short([1, 2, 3], 8) == "[1, …]"
    assert short(4000000000, 5) == "4000000000"


def test_the_human_view_of_a_wide_header_table() -> None:
    status, out, _ = read(str(DATA / "amqplib.pcapng"), "--type", "header")
    assert status == 0
    assert "headers={int8=-8, uint8=200, int16=-1600, uint16=60000, int32=-320000, …}" in out
    assert "400000000…" not in out


def test_body_none_and_full_in_the_human_view() -> None:
    capture = str(DATA / "pika_session.pcapng")
    _, out, _ = read(capture, "--type", "body", "--body", "none", "--limit", "2")
    assert [line[16:] for line in out.splitlines()[1:]] == [
        "#1 → ch1   ContentBody 57 B",
        "#1 → ch1   ContentBody 15 B",
    ]
    _, out, _ = read(str(DATA / "pika_heartbeats.pcap"), "--type", "body", "--body", "full")
    first = out.splitlines()[1]
    assert first.count(" ") > 4088 and not first.endswith("…")
    _, out, _ = read(str(DATA / "pika_heartbeats.pcap"), "--type", "body")
    assert out.splitlines()[1].endswith(" …")  # the preview stops after 24 bytes


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--method", "Basic.Publsh"],
            "--method 'Basic.Publsh' matches no AMQP 0-9-1 method; did you mean 'Basic.Publish'?",
        ),
        (
            ["--method", "Xyz.*"],
            "--method 'Xyz.*' matches no AMQP 0-9-1 method; give Class.Method, e.g. 'Basic.*'",
        ),
        (["--channel", "-1"], "--channel -1 is no AMQP channel; give 0 to 65535"),
        (["--channel", "65536"], "--channel 65536 is no AMQP channel; give 0 to 65535"),
        (["--conn", "0"], "--conn 0 is no connection number; they start at #1"),
        (["--port", "0"], "--port 0 is no TCP port; give 1 to 65535, e.g. --port 5673"),
        (["--port", "70000"], "--port 70000 is no TCP port; give 1 to 65535, e.g. --port 5673"),
    ],
)
def test_wire_read_bad_input(args: list[str], message: str) -> None:
    status, out, err = read(str(DATA / "amqp_tools.pcap"), *args)
    assert (status, out, err) == (4, "", f"mqctl: error: {message}\n")


def test_method_globs_that_match_are_taken_in_any_case() -> None:
    status, out, _ = read(str(DATA / "amqp_tools.pcap"), "--method", "basic.publish")
    assert status == 0 and out.count("Basic.Publish") == 2


# --- wire proxy's addresses ----------------------------------------------------------------------


def test_listen_and_upstream_forms() -> None:
    assert parse_host_port(":5673", "--listen", any_host=True) == ("", 5673)
    assert parse_host_port("rabbit", "--upstream", default_port=5672) == ("rabbit", 5672)
    assert parse_host_port("[::1]", "--upstream", default_port=5671) == ("::1", 5671)
    assert parse_host_port("::1", "--upstream", default_port=5672) == ("::1", 5672)
    with pytest.raises(BadInput) as info:
        parse_host_port(":5673", "--upstream", default_port=5672)
    assert str(info.value) == (
        "--upstream ':5673' is not HOST[:PORT]; "
        "for example --upstream rabbit.internal:5672 (IPv6 as [::1]:5673)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_upstream_proxy() -> Iterator[tuple[int, int]]:
    """A proxy (in a thread) whose upstream port has nothing listening: (proxy port, dead port)."""
    dead = free_port()
    for running in start_proxy(("127.0.0.1", dead)):
        yield running.port, dead


def test_mqctl_through_a_proxy_whose_upstream_is_down(
    clean_env: Path, dead_upstream_proxy: tuple[int, int]
) -> None:
    port, dead = dead_upstream_proxy
    status, _, err = run_in_process(
        "get", "-q", "q", "--url", f"amqp://guest:guest@127.0.0.1:{port}/"
    )
    assert (status, err) == (
        3,
        f"mqctl: error: 127.0.0.1:{port} is an mqctl wire proxy whose upstream is unreachable: "
        f"127.0.0.1:{dead} (Connection refused); start the broker there, or give the proxy the "
        "right --upstream\n",
    )


def proxy_process(*args: str) -> subprocess.Popen[bytes]:
    return start_process("wire", "proxy", *args)


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.broker
def test_the_proxy_warns_at_start_and_counts_refusals_apart(clean_env: Path) -> None:
    dead = free_port()
    proc = proxy_process("--listen", "127.0.0.1:0", "--upstream", f"127.0.0.1:{dead}")
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        port = int(re.search(r"127\.0\.0\.1:(\d+),", first).group(1))  # type: ignore[union-attr]
        warning = proc.stderr.readline().decode()
        assert warning == (
            f"warning: upstream 127.0.0.1:{dead} cannot be reached now (Connection refused); "
            "clients will be told so until it can\n"
        )
        assert (
            run_in_process(
                "get", "-q", "q", "--url", f"amqp://guest:guest@127.0.0.1:{port}/"
            ).status
            == 3
        )
        status, out, err = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert status == 0
    assert out == ""
    assert "Overall: 0 connection(s)" in err
    assert err.endswith(
        "wire proxy: 0 connection(s) forwarded, 1 refused because upstream was unreachable, "
        "0 bytes from clients, 0 bytes from upstream\n"
    )


@pytest.mark.broker
def test_listen_on_every_interface_and_upstream_default_port(
    clean_env: Path, broker: str, tmp_path: Path
) -> None:
    port = free_port()
    capture = tmp_path / "masked.pcap"
    proc = proxy_process(
        "--listen", f":{port}", "--upstream", "127.0.0.1", "--write", str(capture),
        "--mask-passwords", "--format", "jsonl",
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        assert "(every interface), forwarding to 127.0.0.1:5672; Ctrl-C stops" in first
        assert (
            run_in_process(
                "get", "-q", "q", "--url", f"amqp://guest:guest@127.0.0.1:{port}/"
            ).status
            == 1
        )
        status, out, err = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert status == 0, err
    assert "Connection.StartOk" in [json.loads(line).get("method") for line in out.splitlines()]
    recorded = capture.read_bytes()
    assert b"\x00guest\x00*****" in recorded and b"\x00guest\x00guest" not in recorded
    # the masked capture is still a valid one: every frame decodes
    assert (
        run_in_process("wire", "read", str(capture), "--method", "Connection.StartOk").status == 0
    )


def test_the_mask_keeps_lengths_and_frames_whatever_the_chunks() -> None:
    from mqctl.wire.encoder import PROTOCOL_HEADER, encode_method

    start_ok = encode_method(
        0,
        "Connection.StartOk",
        client_properties={"product": "t"},
        mechanism="PLAIN",
        response=b"\x00alice\x00s3cret-pw",
        locale="en_US",
    )
    update = encode_method(0, "Connection.UpdateSecret", new_secret=b"token-123", reason="r")
    other = encode_method(1, "Basic.Qos", prefetch_count=5)
    stream = PROTOCOL_HEADER + start_ok + other + update + other
    expected = stream.replace(b"s3cret-pw", b"*********").replace(b"token-123", b"*********")
    for size in (1, 3, 7, 64, len(stream)):
        mask = ClientSecretMask()
        out = b"".join(mask.feed(stream[i : i + size]) for i in range(0, len(stream), size))
        assert out + mask.flush() == expected

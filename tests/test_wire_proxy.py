"""`wire proxy` against the real broker: forwarding is exact, the observer sees every byte."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pika
import pika.exceptions
import pytest
import requests

from mqctl.errors import BadInput
from mqctl.wire.encoder import encode_message, encode_method
from mqctl.wire.filters import record_type
from mqctl.wire.frames import CutFrame, DecodeProblem, MethodFrame
from mqctl.wire.live import PcapRecorder, proxy_records
from mqctl.wire.pipeline import WirePipeline, read_capture
from mqctl.wire.proxy import (
    Closed,
    Data,
    Dropped,
    LiveEvent,
    LiveTap,
    Opened,
    ProxySettings,
    TcpProxy,
    parse_host_port,
)
from tests.conftest import API_URL, AUTH, BROKER_ADDRESS, BROKER_HOST, BROKER_PORT
from tests.live_traffic import (
    BODIES,
    RecordingSink,
    RunningProxy,
    mqctl,
    plain_env,
    run_session,
    start_proxy,
    wait_until,
)

pytestmark = pytest.mark.broker

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


@pytest.fixture
def running(broker: str) -> Iterator[RunningProxy]:
    yield from start_proxy((BROKER_HOST, BROKER_PORT))


def test_parse_host_port() -> None:
    assert parse_host_port("127.0.0.1:5673", "--listen") == ("127.0.0.1", 5673)
    assert parse_host_port("[::1]:5672", "--upstream") == ("::1", 5672)
    assert parse_host_port("broker.example:5671", "--upstream") == ("broker.example", 5671)
    for bad in ("5672", "host:", "::1:5672", "host:99999", ":5672"):
        with pytest.raises(BadInput, match="is not HOST:PORT"):
            parse_host_port(bad, "--listen")


def test_pika_session_through_proxy_matches_direct(running: RunningProxy, unique: str) -> None:
    direct = run_session(BROKER_PORT, f"{unique}-direct", host=BROKER_HOST)
    proxied = run_session(running.port, f"{unique}-proxied")
    assert proxied.comparable() == direct.comparable()
    assert proxied.bodies == BODIES  # byte-identical, the large one across several body frames
    assert proxied.channel_error == (404, "NOT_FOUND")

    running.settle(closed=1)
    opened = running.sink.of(Opened)
    assert len(opened) == 1
    conn = opened[0].conn
    sent = running.sink.stream(conn, from_client=True)
    received = running.sink.stream(conn, from_client=False)
    assert sent.startswith(PROTOCOL_HEADER)
    assert received.startswith(b"\x01\x00\x00")  # Connection.Start on channel 0
    stats = running.tap.stats
    assert stats.bytes_from_clients == len(sent) and stats.bytes_from_upstream == len(received)
    for body in BODIES:
        assert body[:1000] in sent and body[:1000] in received
    assert not running.sink.of(Dropped)
    # pika closes with a FIN after Connection.CloseOk; RabbitMQ answers a FIN with an RST.
    assert stats.by_close == {"FIN from client, then reset by upstream": 1}


def test_many_concurrent_connections(running: RunningProxy, unique: str) -> None:
    count = 24

    def one(index: int) -> bytes:
        params = pika.ConnectionParameters(
            "127.0.0.1", running.port, heartbeat=0, connection_attempts=1, socket_timeout=10
        )
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            queue = f"{unique}-{index}"
            channel.queue_declare(queue, exclusive=True)
            body = f"message {index} ".encode() * (index + 1)
            channel.basic_publish("", queue, body)
            method, _props, got = channel.basic_get(queue, auto_ack=True)
            assert method is not None
            return bytes(got)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    assert results == [f"message {i} ".encode() * (i + 1) for i in range(count)]
    running.settle(closed=count)
    assert running.tap.stats.connections == count
    assert len({e.conn for e in running.sink.of(Opened)}) == count


def test_client_reset_is_passed_on_and_proxy_keeps_serving(
    running: RunningProxy, unique: str
) -> None:
    sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    sock.sendall(PROTOCOL_HEADER)
    assert sock.recv(7)[:1] == b"\x01"  # Connection.Start came back through the proxy
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an abrupt disconnect: RST, no Connection.Close
    running.settle(closed=1)
    assert running.sink.of(Closed)[0].reason == "reset by client"
    # Still serving afterwards.
    assert run_session(running.port, unique).bodies == BODIES


def read_to_end(sock: socket.socket) -> tuple[bytes, str]:
    """Everything the peer sends, and how it ended ("eof" or "reset")."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    return data, "eof"


def test_wrong_protocol_header_answer_and_reset_as_direct(
    running: RunningProxy, broker_version: tuple[int, ...]
) -> None:
    outcomes = []
    for address in ((BROKER_HOST, BROKER_PORT), ("127.0.0.1", running.port)):
        sock = socket.create_connection(address, timeout=10)
        sock.sendall(b"AMQP\x01\x01\x00\x0a")  # AMQP 1.0's header: the broker answers and resets
        outcomes.append(read_to_end(sock))
        sock.close()
    # 3.x offers the 0-9-1 header it speaks; 4.x, which speaks AMQP 1.0 itself, its SASL header.
    answer = PROTOCOL_HEADER if broker_version < (4,) else b"AMQP\x03\x01\x00\x00"
    assert outcomes[1] == outcomes[0] == (answer, "reset")
    running.settle(closed=1)
    assert running.sink.of(Closed)[0].reason == "reset by upstream"


@contextmanager
def tcp_server(handler: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection plain TCP upstream, to check TCP semantics the broker cannot show."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            handler(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(5)


def test_half_close_both_ways() -> None:
    def reverse_after_eof(conn: socket.socket) -> None:
        request, how = read_to_end(conn)  # until the client's FIN, passed on by the proxy
        assert how == "eof"
        conn.sendall(request[::-1])  # still allowed: only the client's direction is closed
        conn.shutdown(socket.SHUT_WR)

    with tcp_server(reverse_after_eof) as port:
        for running in start_proxy(("127.0.0.1", port)):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
            request = bytes(range(256)) * 4000
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            assert read_to_end(sock) == (request[::-1], "eof")
            sock.close()
            running.settle(closed=1)
            assert running.tap.stats.by_close == {"closed": 1}
            assert running.sink.stream(1, from_client=False) == request[::-1]


def test_upstream_reset_after_data_reaches_the_client() -> None:
    def answer_then_reset(conn: socket.socket) -> None:
        conn.recv(100)
        conn.sendall(b"partial answer")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with tcp_server(answer_then_reset) as port:
        for running in start_proxy(("127.0.0.1", port)):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
            sock.sendall(b"question")
            assert read_to_end(sock) == (b"partial answer", "reset")
            sock.close()
            running.settle(closed=1)
            assert running.tap.stats.by_close == {"reset by upstream": 1}


def test_broker_closing_the_connection(running: RunningProxy, unique: str) -> None:
    params = pika.ConnectionParameters(
        "127.0.0.1",
        running.port,
        virtual_host=f"{unique}-no-such-vhost",
        heartbeat=0,
        connection_attempts=1,
    )
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        pika.BlockingConnection(params)
    running.settle(closed=1)
    received = running.sink.stream(running.sink.of(Opened)[0].conn, from_client=False)
    assert b"NOT_ALLOWED" in received  # the broker's Connection.Close(530) reached the client


def test_upstream_unreachable(broker: str) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead_port = free.getsockname()[1]
    for running in start_proxy(("127.0.0.1", dead_port)):
        # The proxy answers with a Connection.Close naming upstream, then a FIN.
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(PROTOCOL_HEADER)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"\x01\x00\x00")  # a method frame on channel 0
        assert b"mqctl wire proxy: upstream unreachable: 127.0.0.1:" in answer
        wait_until(lambda w=running.warnings: bool(w), lambda: "no warning", timeout=5)  # type: ignore[misc]
        assert "cannot reach upstream" in running.warnings[0]
        assert running.proxy.stats.failed_connects == 1


class PauseIgnoringTransport(asyncio.Transport):
    """A client socket's transport whose pause_reading() does nothing, as Python 3.11.2's does when
    called inside connection_made() (CPython gh-103607): the client's bytes arrive at once."""

    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()  # what the proxy sent to the client
        self.closing = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.received += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0


@pytest.mark.parametrize("late", [False, True], ids=["before-connect", "also-during-connect"])
def test_client_bytes_sent_before_upstream_is_connected_are_forwarded(
    broker: str, late: bool
) -> None:
    """Issue #16 on Debian 12: the protocol header arrives before the upstream connection exists;
    the proxy holds it and forwards it once connected, so the broker answers Connection.Start.
    Late: the header's second half arrives once upstream's transport exists but before the
    connect has returned (the loop turn between them), where the proxy once sent it ahead of the
    held first half (seen on a fresh Debian 12 as a half-closed 1 MB exchange coming back out of
    order)."""
    transport = PauseIgnoringTransport()
    first, rest = (PROTOCOL_HEADER[:4], PROTOCOL_HEADER[4:]) if late else (PROTOCOL_HEADER, b"")

    async def scenario() -> None:
        settings = ProxySettings(listen=("127.0.0.1", 0), upstream=(BROKER_HOST, BROKER_PORT))
        proxy = TcpProxy(settings, LiveTap(), warn=lambda _message: None)
        client = proxy._new_client()
        client.connection_made(transport)
        client.data_received(first)  # at once, whatever pause_reading did
        if rest:
            (conn,) = proxy.connections.values()
            made = conn.upstream.connection_made

            def made_then_more(upstream_transport: asyncio.BaseTransport) -> None:
                made(upstream_transport)
                client.data_received(rest)

            conn.upstream.connection_made = made_then_more  # type: ignore[method-assign,assignment]
        try:
            await poll_async(lambda: len(transport.received) >= 12, "Connection.Start")
        finally:
            for conn in list(proxy.connections.values()):
                conn.abort()

    asyncio.run(scenario())
    frame_type, channel, _size, class_id, method_id = struct.unpack_from(
        ">BHIHH", transport.received
    )
    assert (frame_type, channel, class_id, method_id) == (1, 0, 10, 10)  # Connection.Start


async def poll_async(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        await asyncio.sleep(0.01)


class SlowSink(RecordingSink):
    def handle(self, event: LiveEvent) -> None:
        time.sleep(0.01)
        super().handle(event)


def test_slow_output_drops_observation_not_traffic(broker: str, unique: str) -> None:
    for running in start_proxy((BROKER_HOST, BROKER_PORT), queue_bytes=4096, sink=SlowSink()):
        result = run_session(running.port, unique)
        assert result.bodies == BODIES  # the traffic was intact
        assert running.tap.stats.dropped_bytes > 300_000
        running.settle(closed=1, timeout=30)
        dropped = running.sink.of(Dropped)
        assert dropped  # the observer is told how much it missed, per direction
        seen = sum(len(e.data) for e in running.sink.of(Data))
        missed = sum(e.size for e in dropped)
        stats = running.tap.stats
        assert seen + missed == stats.bytes_from_clients + stats.bytes_from_upstream
        assert seen + stats.dropped_bytes == stats.bytes_from_clients + stats.bytes_from_upstream
        assert any("cannot keep up" in w for w in running.warnings)


# --- the command: `python -m mqctl wire proxy ...` as a user runs it ---------------------------


@dataclass
class ProxyRun:
    proc: subprocess.Popen[bytes]
    port: int
    lines: queue.Queue[bytes]  # stdout, line by line, as the proxy writes it
    pump: threading.Thread  # reads stdout into `lines` until it ends
    stdout: list[bytes] = field(default_factory=list)
    stderr: str = ""

    def next_lines_until(self, needle: bytes, timeout: float = 10.0) -> list[bytes]:
        """stdout lines up to one containing `needle`, read while the proxy is still running."""
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            got.append(line)
            if needle in line:
                return got
        raise AssertionError(f"{needle!r} not seen on stdout within {timeout}s; got {got[-3:]}")

    def stop(self) -> int:
        """Ctrl-C, then everything it printed."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read().decode()
        self.pump.join(10)  # stdout is closed: every line is in `lines` once the pump ends
        while not self.lines.empty():
            self.stdout.append(self.lines.get())
        return self.proc.returncode


@contextmanager
def proxy_command(*args: str) -> Iterator[ProxyRun]:
    command = [sys.executable, "-m", "mqctl", "wire", "proxy", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=plain_env()
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        first = proc.stderr.readline().decode()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", first)
        assert found, f"proxy did not start: {first}{proc.stderr.read().decode()}"
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        pumping = threading.Thread(target=pump, daemon=True)
        pumping.start()
        yield ProxyRun(proc, int(found.group(1)), lines, pumping)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _without_ts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A pcap keeps microseconds; the live view has the full clock reading.
    return [{k: v for k, v in r.items() if k != "ts"} for r in records]


def test_command_shows_every_frame_live_and_as_its_own_pcap(
    broker: str, unique: str, tmp_path: Path
) -> None:
    pcap = tmp_path / "session.pcap"
    with proxy_command(
        "--upstream", BROKER_ADDRESS, "--format", "jsonl", "--body", "full", "--write", str(pcap)
    ) as run:
        result = run_session(run.port, unique)
        # Line-buffered: the last frame of the session is on stdout while the proxy still runs.
        live = run.next_lines_until(b'"Connection.CloseOk"')
        assert run.stop() == 0
    assert result.bodies == BODIES
    records = [json.loads(line) for line in live + run.stdout]
    assert "publisher confirms: 4 acked" in run.stderr  # the summary, at Ctrl-C, on stderr

    # Every frame: the same traffic decoded from the proxy's own --write file is identical.
    read = mqctl("wire", "read", str(pcap), "--format", "jsonl", "--body", "full")
    assert read.status == 0, read.err
    from_file = [json.loads(line) for line in read.out.splitlines()]
    assert _without_ts(records) == _without_ts(from_file)
    for live_record, file_record in zip(records, from_file, strict=True):
        assert abs(live_record["ts"] - file_record["ts"]) < 1e-5

    methods = [r["method"] for r in records if r["type"] == "method"]
    for name, count in [("Basic.Publish", 4), ("Basic.Deliver", 4), ("Basic.Ack", 8)]:
        assert methods.count(name) == count, name
    assert any(
        r.get("method") == "Channel.Close" and r["args"]["reply_code"] == 404 for r in records
    )
    assert not [r for r in records if r["type"] in ("gap", "error")]
    published = b"".join(
        base64.b64decode(r["body"]["bytes"])
        for r in records
        if r["type"] == "body"
        and r["src"].endswith(f":{r['src'].rsplit(':', 1)[1]}")
        and r["dst"] == BROKER_ADDRESS
    )
    assert published == b"".join(BODIES)  # what the client sent, byte for byte

    # tshark reads the written pcap as the same AMQP conversation.
    dissected = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-d",
            f"tcp.port=={BROKER_PORT},amqp",
            "-Y",
            "amqp",
            "-T",
            "fields",
            "-e",
            "amqp.method.class",
            "-e",
            "amqp.method.method",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    tshark_methods = sum(
        len(line.split("\t")[0].split(",")) for line in dissected.split("\n") if line.split("\t")[0]
    )
    assert tshark_methods == len(methods)


def test_command_summary_as_jsonl_at_ctrl_c(broker: str, unique: str) -> None:
    with proxy_command("--upstream", BROKER_ADDRESS, "--format", "jsonl", "--summary") as run:
        run_session(run.port, unique)
        wait_until_gone_from_broker(unique)
        assert run.stop() == 0
    (summary,) = [json.loads(line) for line in run.stdout]  # the summary replaces the frames
    total = summary["total"]
    assert total["messages"]["published"] == total["messages"]["delivered"] == 4
    assert total["confirms"]["acked"] == 4
    assert [e["reply_code"] for e in total["errors"]] == [404]


def test_command_filters_and_human_view(broker: str, unique: str) -> None:
    with proxy_command("--upstream", BROKER_ADDRESS, "--method", "Basic.Publish") as run:
        run_session(run.port, unique)
        wait_until_gone_from_broker(unique)
        assert run.stop() == 0
    text = b"".join(run.stdout).decode()
    assert text.count("Basic.Publish") == 4
    assert "Basic.Deliver" not in text and "Connection.Start" not in text
    assert "ContentBody" in text  # a method's content goes with it


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ["--listen", "nowhere", "--upstream", "127.0.0.1:5672"],
            4,
            "--listen 'nowhere' is not [HOST]:PORT",
        ),
        (
            ["--listen", "127.0.0.1:0", "--upstream", "localhost:99999"],
            4,
            "--upstream 'localhost:99999' is not HOST[:PORT]",
        ),
        (
            ["--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:5672", "--type", "bogus"],
            4,
            "Invalid value for '--type': 'bogus' is not one of",
        ),
    ],
)
def test_command_bad_input(args: list[str], status: int, message: str) -> None:
    result = mqctl("wire", "proxy", *args)
    assert result.status == status
    lines = result.err.splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_command_port_in_use(broker: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mqctl(
            "wire", "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:5672"
        )
    assert result.status == 3
    assert result.err.startswith(f"mqctl: error: cannot listen on 127.0.0.1:{port}")


# --- --upstream-tls: a local plaintext client, amqps to the broker ----------------------------


def test_upstream_tls(tls_broker: tuple[int, Path], unique: str) -> None:
    port, cert = tls_broker
    with proxy_command(
        "--upstream", f"127.0.0.1:{port}", "--upstream-tls", "--ca-cert", str(cert),
        "--format", "jsonl",
    ) as run:  # fmt: skip
        assert run_session(run.port, unique).bodies == BODIES
        live = run.next_lines_until(b'"Connection.CloseOk"')
        assert run.stop() == 0
    methods = [json.loads(line).get("method") for line in live]
    assert methods.count("Basic.Publish") == 4 and methods.count("Basic.Deliver") == 4


def test_upstream_tls_refuses_an_unverified_broker(tls_broker: tuple[int, Path]) -> None:
    port, _cert = tls_broker
    with proxy_command("--upstream", f"127.0.0.1:{port}", "--upstream-tls") as run:
        sock = socket.create_connection(("127.0.0.1", run.port), timeout=10)
        sock.sendall(PROTOCOL_HEADER)
        answer, _ = read_to_end(sock)  # the client is told why, not served in clear
        assert b"mqctl wire proxy: upstream unreachable" in answer
        assert b"CERTIFICATE_VERIFY_FAILED" in answer
        sock.close()
        assert run.stop() == 0
    assert "CERTIFICATE_VERIFY_FAILED" in run.stderr


def test_skipped_bytes_become_a_gap_and_decoding_resumes(tmp_path: Path) -> None:
    """What the tap could not hand over reaches the decoder as a gap of its exact size; the
    decoder resynchronises on the next frame and the pcap shows the hole."""
    client, server = (b"\x7f\x00\x00\x01", 40000), (b"\x7f\x00\x00\x01", 5672)
    first = encode_message(1, "Basic.Publish", b"one", {"content_type": "text/plain"}, exchange="x")
    lost = encode_message(1, "Basic.Publish", b"two" * 100, exchange="x")
    third = encode_method(1, "Basic.Qos", prefetch_count=10)
    events: list[LiveEvent] = [
        Opened(1.0, 7, client, server),
        Data(1.1, 7, True, PROTOCOL_HEADER + first + lost[:10]),
        Dropped(1.2, 7, True, len(lost) - 10),  # the rest of `lost` went by unobserved
        Data(1.3, 7, True, third),
        Closed(1.4, 7, "closed"),
    ]
    stream = io.BytesIO()
    recorder = PcapRecorder(stream)
    records = list(proxy_records(iter(events), WirePipeline(), recorder))
    kinds = [record_type(r) for r in records]
    # the 10 bytes seen of `lost` start its method frame: that frame, cut; then the rest as a gap
    assert kinds == ["protocol-header", "method", "header", "body", "method", "gap", "method"]
    cut, gap = records[4].event, records[5].event
    assert isinstance(cut, CutFrame) and len(cut.payload) == 3
    assert isinstance(gap, DecodeProblem)
    assert gap.skipped_bytes == len(lost) - (cut.size + 8)  # what followed the cut frame
    assert records[-1].event.name == "Basic.Qos"  # type: ignore[union-attr]
    # The recorded pcap read back: same frames, the hole a lost segment of the same size.
    recorder.finish()
    capture = tmp_path / "holed.pcap"
    capture.write_bytes(stream.getvalue())
    again = [record_type(r) for r in read_capture(str(capture))]
    assert again == kinds


def test_broker_force_closing_a_live_connection(running: RunningProxy, unique: str) -> None:
    params = pika.ConnectionParameters(
        "127.0.0.1",
        running.port,
        heartbeat=0,
        connection_attempts=1,
        client_properties={"connection_name": unique},
    )
    connection = pika.BlockingConnection(params)
    try:
        connection.channel()
        name = _broker_connection_name(unique)
        requests.delete(
            f"{API_URL}/api/connections/{quote(name, safe='')}",
            auth=AUTH,
            headers={"X-Reason": f"closed by {unique}"},
            timeout=10,
        ).raise_for_status()
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            connection.process_data_events(time_limit=10)
        assert closed.value.reply_code == 320  # CONNECTION_FORCED, as with a direct connection
    finally:
        if connection.is_open:
            connection.close()
    running.settle(closed=1)
    received = running.sink.stream(running.sink.of(Opened)[0].conn, from_client=False)
    assert f"closed by {unique}".encode() in received


def _broker_connections(client_name: str) -> list[str]:
    listed = requests.get(f"{API_URL}/api/connections", auth=AUTH, timeout=10).json()
    return [
        str(conn["name"])
        for conn in listed
        if conn.get("client_properties", {}).get("connection_name") == client_name
    ]


def wait_until_gone_from_broker(client_name: str) -> None:
    """Until the broker no longer lists the connection: the proxy has passed its close through."""
    wait_until(
        lambda: not _broker_connections(client_name),
        lambda: f"the broker still lists connection {client_name}",
    )


def _broker_connection_name(client_name: str, timeout: float = 10.0) -> str:
    """The broker's name for the connection whose client calls itself `client_name`."""
    wait_until(
        lambda: bool(_broker_connections(client_name)),
        lambda: f"the management API does not list connection {client_name}",
        timeout,
    )
    return _broker_connections(client_name)[0]


def test_command_keeps_forwarding_when_stdout_is_closed(broker: str, unique: str) -> None:
    """`wire proxy ... | head`: the view ends, the clients keep being served, exit 0."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mqctl", "wire", "proxy", "--listen", "127.0.0.1:0",
         "--upstream", BROKER_ADDRESS, "--format", "jsonl"],
        stdout=write_end, stderr=subprocess.PIPE, env=plain_env(),
    )  # fmt: skip
    os.close(write_end)
    try:
        assert proc.stderr is not None
        port = int(re.search(r":(\d+),", proc.stderr.readline().decode()).group(1))  # type: ignore[union-attr]
        os.close(read_end)  # the reader goes away before the first frame
        assert run_session(port, f"{unique}-1").bodies == BODIES
        assert run_session(port, f"{unique}-2").bodies == BODIES
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err.decode()
    assert "stdout was closed" in err.decode()
    assert "2 connection(s) forwarded" in err.decode()


def test_ipv6_client_to_ipv4_broker_recorded_as_one_flow(
    broker: str, unique: str, tmp_path: Path
) -> None:
    """A client on [::1] and the broker on IPv4 (127.0.0.1): the pcap flow maps the IPv4 end to
    ::ffff:127.0.0.1, so the conversation reads back as one connection."""
    capture = tmp_path / "v6.pcap"
    with capture.open("wb") as stream:
        for running in start_proxy(
            (BROKER_HOST, BROKER_PORT), also=PcapRecorder(stream), listen="::1"
        ):
            assert run_session(running.port, unique, host="::1").bodies == BODIES
            running.settle(closed=1)
    (opened,) = running.sink.of(Opened)
    assert opened.client[0] == socket.inet_pton(socket.AF_INET6, "::1")
    mapped = f"::ffff:{BROKER_HOST}"
    assert opened.server == (socket.inet_pton(socket.AF_INET6, mapped), BROKER_PORT)
    records = list(read_capture(str(capture)))
    assert {r.conn.id for r in records} == {1}
    assert records[0].src.startswith("[::1]:") and records[0].dst == f"[{mapped}]:{BROKER_PORT}"
    assert (
        sum(
            1
            for r in records
            if record_type(r) == "method"
            and isinstance(r.event, MethodFrame)
            and r.event.name == "Basic.Publish"
        )
        == 4
    )

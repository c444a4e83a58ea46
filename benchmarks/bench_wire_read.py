"""Benchmark: `mqctl wire read` against tshark on the same bulk capture, in the same run.

    .venv/bin/python benchmarks/bench_wire_read.py [--messages 30000] [--runs 3] [--keep FILE]

The capture is generated here (not committed): a publisher connection sending N messages with
publisher confirms (the broker confirms with `multiple` every 5 publishes) and a consumer connection
receiving them with acks (`multiple` every 10), shaped like real traffic: each message is
Basic.Publish / Basic.Deliver + a content header (content_type, delivery_mode, message_id and a
3-entry headers table) + a 200-byte JSON body; a publisher's message is one TCP segment, the
broker's deliveries come 10 to a segment. Timestamps advance 50 µs a message.

Measured (best of --runs taken round robin, output to /dev/null): wall time, and CPU time (user +
system, from the kernel's accounting of the process), steadier on a shared, loaded machine:
  mqctl wire read FILE --format jsonl    every frame, arguments and properties decoded, as JSON:
                                         the default build and MQCTL_PURE_PYTHON=1, same run
  mqctl wire read FILE                   the human one-line view
  mqctl wire read FILE --summary         counts, confirms and acks paired
  tshark -r FILE -Y amqp                 tshark's one-line summary
  tshark -r FILE -Y amqp -T json         tshark's full JSON
Peak memory (max RSS) of each process is printed too, and mqctl's on a capture a tenth the size
(both builds): mqctl streams, so it stays flat. The ratios are mqctl's over tshark's one-line
summary, against the targets (default build <= 0.5x, pure Python <= 1.0x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mqctl.wire.encoder import encode_message, encode_method
from mqctl.wire.packets import LINKTYPE_ETHERNET
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter

ROOT = Path(__file__).resolve().parent.parent
# `python -m mqctl` from the repository's root, as the tests run it (tests/run.py): the checkout this
# file is in, not whichever one the virtualenv's console script was installed from
MQCTL = (sys.executable, "-m", "mqctl")
TS = 1700000000.0


def connection_start(flow: TcpFlowWriter, ts: float) -> None:
    flow.data(ts, True, b"AMQP\x00\x00\x09\x01")
    flow.data(
        ts,
        False,
        encode_method(
            0,
            "Connection.Start",
            version_major=0,
            version_minor=9,
            server_properties={"product": "RabbitMQ", "version": "3.10.8"},
            mechanisms="PLAIN AMQPLAIN",
            locales="en_US",
        ),
    )
    flow.data(
        ts,
        True,
        encode_method(
            0,
            "Connection.StartOk",
            client_properties={"product": "bench"},
            mechanism="PLAIN",
            response="\0guest\0guest",
            locale="en_US",
        ),
    )
    flow.data(ts, False, encode_method(0, "Connection.Tune", channel_max=2047, frame_max=131072))
    flow.data(ts, True, encode_method(0, "Connection.TuneOk", channel_max=2047, frame_max=131072))
    flow.data(ts, True, encode_method(0, "Connection.Open", virtual_host="/"))
    flow.data(ts, False, encode_method(0, "Connection.OpenOk"))
    flow.data(ts, True, encode_method(1, "Channel.Open"))
    flow.data(ts, False, encode_method(1, "Channel.OpenOk"))


def message(i: int, method: str, **args: Any) -> bytes:
    body = json.dumps({"order": i, "sku": "A-1234", "qty": 3, "note": "x" * 140}).encode()
    body = body[:200].ljust(200, b" ")
    props = {
        "content_type": "application/json",
        "delivery_mode": 2,
        "message_id": f"msg-{i:08d}",
        "headers": {"source": "bench", "attempt": 1, "trace": f"t-{i}"},
    }
    return encode_message(1, method, body, props, **args)


def make_capture(path: Path, messages: int) -> int:
    """Write the bulk capture; return the number of AMQP frames in it."""
    with path.open("wb") as handle:
        writer = PcapWriter(handle, LINKTYPE_ETHERNET)
        publisher = TcpFlowWriter(
            writer, (bytes([10, 0, 0, 1]), 40001), (bytes([10, 0, 0, 9]), 5672)
        )
        consumer = TcpFlowWriter(
            writer, (bytes([10, 0, 0, 2]), 40002), (bytes([10, 0, 0, 9]), 5672)
        )
        frames = 0
        for flow in (publisher, consumer):
            flow.open(TS)
            connection_start(flow, TS)
            frames += 8
        publisher.data(TS, True, encode_method(1, "Confirm.Select"))
        publisher.data(TS, False, encode_method(1, "Confirm.SelectOk"))
        consumer.data(
            TS, True, encode_method(1, "Basic.Consume", queue="orders", consumer_tag="c1")
        )
        consumer.data(TS, False, encode_method(1, "Basic.ConsumeOk", consumer_tag="c1"))
        frames += 4
        deliveries: list[bytes] = []
        for i in range(1, messages + 1):
            ts = TS + i * 50e-6
            publisher.data(
                ts, True, message(i, "Basic.Publish", exchange="orders", routing_key="o.new")
            )
            frames += 3
            if i % 5 == 0:
                ack = encode_method(1, "Basic.Ack", delivery_tag=i, multiple=True)
                publisher.data(ts + 20e-6, False, ack)
                frames += 1
            deliveries.append(
                message(
                    i,
                    "Basic.Deliver",
                    consumer_tag="c1",
                    delivery_tag=i,
                    exchange="orders",
                    routing_key="o.new",
                )
            )
            frames += 3
            if len(deliveries) == 10:
                consumer.data(ts + 30e-6, False, b"".join(deliveries))
                deliveries.clear()
                ack = encode_method(1, "Basic.Ack", delivery_tag=i, multiple=True)
                consumer.data(ts + 40e-6, True, ack)
                frames += 1
        for flow in (publisher, consumer):
            flow.data(TS + messages * 50e-6 + 0.01, True, encode_method(0, "Connection.Close"))
            flow.data(TS + messages * 50e-6 + 0.01, False, encode_method(0, "Connection.CloseOk"))
            flow.close(TS + messages * 50e-6 + 0.02)
            frames += 2
    return frames


def timed(cmd: list[str], pure: bool = False) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak RSS in kB of one run."""
    env = {k: v for k, v in os.environ.items() if k != "MQCTL_PURE_PYTHON"}
    if pure:
        env["MQCTL_PURE_PYTHON"] = "1"
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def build_in_use() -> str:
    return subprocess.run(
        [*MQCTL, "--version"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=30000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", help="write the capture here and keep it")
    parser.add_argument(
        "--key-only",
        action="store_true",
        help="only mqctl jsonl (both builds) against tshark's one-line summary",
    )
    args = parser.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        sys.exit("tshark is not installed (scripts/setup installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "bulk.pcap"
        frames = make_capture(path, args.messages)
        small = Path(tmp) / "small.pcap"
        make_capture(small, max(args.messages // 10, 1))
        size = path.stat().st_size
        print(f"capture: {args.messages} messages, {frames} AMQP frames, {size / 1e6:.1f} MB")
        jsonl = [*MQCTL, "wire", "read", str(path), "-f", "jsonl"]
        # (label, command, pure-Python build)
        cases = [
            ("mqctl jsonl, default build", jsonl, False),
            ("mqctl jsonl, pure Python", jsonl, True),
            ("mqctl human view", [*MQCTL, "wire", "read", str(path)], False),
            ("mqctl --summary", [*MQCTL, "wire", "read", str(path), "--summary"], False),
            ("tshark -Y amqp", [tshark, "-r", str(path), "-Y", "amqp"], False),
            (
                "tshark -Y amqp -T json",
                [tshark, "-r", str(path), "-Y", "amqp", "-T", "json"],
                False,
            ),
        ]
        if args.key_only:
            cases = [cases[0], cases[1], cases[4]]
        wall = {label: float("inf") for label, _, _ in cases}
        cpu = dict(wall)
        rss = {label: 0 for label, _, _ in cases}
        for _ in range(args.runs):  # round robin: every command sees the same load drift
            for label, cmd, pure in cases:
                w, c, r = timed(cmd, pure)
                wall[label], cpu[label] = min(wall[label], w), min(cpu[label], c)
                rss[label] = max(rss[label], r)
        small_rss = {
            pure: timed([*jsonl[:-3], str(small), "-f", "jsonl"], pure)[2] for pure in (False, True)
        }
        print(f"default build: {build_in_use()}; best of {args.runs} runs, round robin")
        print(f"load average before/after: {LOAD_BEFORE} / {os.getloadavg()[0]:.1f}")
        print(f"{'':<32} {'wall':>8}  {'cpu':>7}  {'frames/s (wall)':>15}  {'max RSS':>8}")
        for label, _, _ in cases:
            print(
                f"{label:<32} {wall[label]:7.2f}s  {cpu[label]:6.2f}s  "
                f"{frames / wall[label]:>15,.0f}  {rss[label] / 1024:6.0f} MB"
            )
        summary = "tshark -Y amqp"
        for ours, target in (
            ("mqctl jsonl, default build", 0.5),
            ("mqctl jsonl, pure Python", 1.0),
        ):
            print(
                f"{ours} / {summary}: {cpu[ours] / cpu[summary]:.2f}x cpu, "
                f"{wall[ours] / wall[summary]:.2f}x wall (target <= {target}x)"
            )
        if not args.key_only:
            full = "tshark -Y amqp -T json"
            print(f"{full} / mqctl jsonl, default build: {cpu[full] / cpu[cases[0][0]]:.2f}x cpu")
        for pure, label in ((False, "default build"), (True, "pure Python")):
            big = rss["mqctl jsonl, pure Python" if pure else "mqctl jsonl, default build"]
            print(
                f"memory, {label}: {small_rss[pure] / 1024:.0f} MB at {size / 10e6:.1f} MB of "
                f"capture, {big / 1024:.0f} MB at {size / 1e6:.1f} MB"
            )


LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"

if __name__ == "__main__":
    main()

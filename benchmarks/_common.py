"""Shared helpers for the messaging benchmarks: a throw-away queue and a timer."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

URL = os.environ.get("MQCTL_BENCH_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
ROOT = Path(__file__).resolve().parent.parent
# The benchmarks run as scripts (benchmarks/ is their sys.path): the repository's root is added so
# that they run mqctl the one way the tests do (tests/run.py).
sys.path.insert(0, str(ROOT))
from tests.run import MQCTL as MQCTL  # noqa: E402  (bench_list runs it beside its peer)
from tests.run import run_process as run_process  # noqa: E402


@contextmanager
def temporary_queue() -> Iterator[str]:
    name = f"mqctl-bench-{uuid.uuid4().hex[:8]}"
    with _channel() as channel:
        channel.queue_declare(name)
    try:
        yield name
    finally:
        with _channel() as channel:
            channel.queue_delete(name)


@contextmanager
def _channel() -> Iterator[Any]:
    # A connection per step: one held idle through a long run loses its heartbeats.
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    try:
        yield connection.channel()
    finally:
        connection.close()


def purge(queue: str) -> None:
    with _channel() as channel:
        channel.queue_purge(queue)


def depth(queue: str) -> int:
    with _channel() as channel:
        return int(channel.queue_declare(queue, passive=True).method.message_count)


def run_mqctl(
    args: list[str], stdout: int | None = subprocess.DEVNULL, ok: tuple[int, ...] = (0,)
) -> float:
    """Seconds the whole `mqctl ...` process took, start-up included; an exit status outside
    `ok` stops the benchmark with mqctl's message."""
    started = time.perf_counter()
    done = run_process("--url", URL, *args, stdout=stdout, timeout=None)
    seconds = time.perf_counter() - started
    if done.status not in ok:
        raise SystemExit(f"mqctl {' '.join(args)} failed ({done.status}): {done.err}")
    return seconds


def report(name: str, count: int, ours: list[float], peer: list[float], peer_name: str) -> None:
    print(f"\n{name}: {count} messages, {len(ours)} runs each (best / median)")
    for label, times in (("mqctl", ours), (peer_name, peer)):
        best, median = min(times), sorted(times)[len(times) // 2]
        print(
            f"  {label:<34} best {best:6.2f}s ({count / best:8.0f} msg/s)   "
            f"median {median:6.2f}s ({count / median:8.0f} msg/s)"
        )
    ratios = ", ".join(f"{p / o:.2f}x" for o, p in zip(ours, peer, strict=True))
    print(f"  speed-up of mqctl over the peer, run by run: {ratios}")
    print(
        f"  best-vs-best {min(peer) / min(ours):.2f}x, median-vs-median "
        f"{sorted(peer)[len(peer) // 2] / sorted(ours)[len(ours) // 2]:.2f}x"
    )


def uptime() -> str:
    """The machine's load, as `uptime` says it: the figures beside it mean little without it."""
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or " ".join(f"{x:.2f}" for x in os.getloadavg())


def callgrind_instructions(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Instructions `argv` executes, as callgrind counts them: the same for the same program and
    inputs, whatever the machine's load."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count: {done.stderr[-300:]}")
    return int(found[1])


def argparser(doc: str | None) -> argparse.ArgumentParser:
    """--count and --runs, for a benchmark to add its own options to."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    return parser


def parse_args(doc: str | None) -> argparse.Namespace:
    return argparser(doc).parse_args()

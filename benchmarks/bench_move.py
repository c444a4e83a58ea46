"""`mqctl move` of N messages between two queues beside a plain pika loop doing the same job the
same safe way: SelectConnection, a consumer with prefetch 1000 on one channel, each message
published with `mandatory` on a confirm-mode channel of the same connection, and the source acked
(`multiple`) as the confirms come back, pipelined under the same window. Same run, same queues.

    .venv/bin/python benchmarks/bench_move.py [--count 100000] [--runs 3] [--broker-pid PID]

MQCTL_BENCH_URL names another broker (a cluster node of scripts/brokers, which no one else uses:
`scripts/brokers run cluster env MQCTL_BENCH_URL=amqp://guest:guest@10.77.16.13/%2f ...`).
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
from _common import URL, argparser, depth, purge, report, run_mqctl, temporary_queue, uptime

BODY = "x" * 100
PREFETCH = 1000


def fill(queue: str, count: int) -> None:
    purge(queue)
    run_mqctl(["publish", "-k", queue, "--body", BODY, "-n", str(count)])
    assert depth(queue) == count, depth(queue)


def pika_move_loop(source: str, target: str, count: int, url: str = URL) -> float:
    """The plain pika consume-publish-confirm-ack loop."""
    started = time.perf_counter()
    state: dict[str, Any] = {"moved": 0, "seq": 0}
    pending: deque[tuple[int, int]] = deque()  # (publish seq, source delivery tag)

    def on_open(connection: Any) -> None:
        connection.channel(on_open_callback=lambda ch: on_channel(connection, ch, "src"))
        connection.channel(on_open_callback=lambda ch: on_channel(connection, ch, "dst"))

    def on_channel(connection: Any, channel: Any, role: str) -> None:
        state[role] = channel
        if "src" in state and "dst" in state:
            state["dst"].confirm_delivery(on_confirm, callback=lambda _: start())

    def start() -> None:
        state["src"].basic_qos(
            prefetch_count=PREFETCH,
            callback=lambda _: state["src"].basic_consume(source, on_message),
        )

    def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
        state["dst"].basic_publish("", target, body, properties, mandatory=True)
        state["seq"] += 1
        pending.append((state["seq"], method.delivery_tag))

    def on_confirm(frame: Any) -> None:
        last = 0
        while pending and pending[0][0] <= frame.method.delivery_tag:
            last = pending.popleft()[1]
            state["moved"] += 1
        if last:
            state["src"].basic_ack(last, multiple=True)
        if state["moved"] >= count:
            state["conn"].close()

    connection = pika.SelectConnection(
        pika.URLParameters(url),
        on_open_callback=on_open,
        on_close_callback=lambda c, reason: c.ioloop.stop(),
    )
    state["conn"] = connection
    connection.ioloop.start()
    return time.perf_counter() - started


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of this process and its children, or of process `pid` (the
    broker's beam.smp, all of its threads) when given."""
    if pid is None:
        mine, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(run: Callable[[], float], broker_pid: int | None) -> tuple[float, float, float]:
    """(wall seconds, client CPU seconds, broker CPU seconds or NaN) of one move."""
    client, broker = cpu_seconds(None), cpu_seconds(broker_pid) if broker_pid else math.nan
    wall = run()
    broker = cpu_seconds(broker_pid) - broker if broker_pid else math.nan
    return wall, cpu_seconds(None) - client, broker


def main() -> None:
    parser = argparser(__doc__)
    parser.add_argument(
        "--broker-pid",
        type=int,
        help="the broker's beam.smp: also print the CPU time it spent on each move (a broker "
        "of its own, such as a cluster node, says what each way costs the broker)",
    )
    args = parser.parse_args()
    print(f"before: {uptime()}", flush=True)
    ours: list[float] = []
    peer: list[float] = []
    with temporary_queue() as source, temporary_queue() as target:
        for run in range(args.runs):
            fill(source, args.count)
            purge(target)
            mine = timed(lambda: run_mqctl(["move", source, "--to-queue", target]), args.broker_pid)
            ours.append(mine[0])
            assert (depth(source), depth(target)) == (0, args.count)
            fill(source, args.count)
            purge(target)
            theirs = timed(lambda: pika_move_loop(source, target, args.count), args.broker_pid)
            peer.append(theirs[0])
            assert (depth(source), depth(target)) == (0, args.count)
            print(
                f"run {run + 1}: mqctl {mine[0]:.2f}s (CPU: its own {mine[1]:.2f}s, broker "
                f"{mine[2]:.2f}s), pika loop {theirs[0]:.2f}s (CPU: its own {theirs[1]:.2f}s, "
                f"broker {theirs[2]:.2f}s)",
                flush=True,
            )
    report("move queue to queue", args.count, ours, peer, "pika consume-publish-confirm-ack")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()

"""`mqctl move` of N messages between two queues beside a plain pika loop doing the same job the
same safe way: SelectConnection, a consumer with prefetch 1000 on one channel, each message
published with `mandatory` on a confirm-mode channel of the same connection, and the source acked
(`multiple`) as the confirms come back, pipelined under the same window. Same run, same queues.

    .venv/bin/python benchmarks/bench_move.py [--count 100000] [--runs 3]
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import pika
from _common import URL, depth, parse_args, purge, report, run_mqctl, temporary_queue

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


def main() -> None:
    args = parse_args(__doc__)
    ours: list[float] = []
    peer: list[float] = []
    with temporary_queue() as source, temporary_queue() as target:
        for run in range(args.runs):
            fill(source, args.count)
            purge(target)
            ours.append(run_mqctl(["move", source, "--to-queue", target]))
            assert (depth(source), depth(target)) == (0, args.count)
            fill(source, args.count)
            purge(target)
            peer.append(pika_move_loop(source, target, args.count))
            assert (depth(source), depth(target)) == (0, args.count)
            print(f"run {run + 1}: mqctl {ours[-1]:.2f}s, pika loop {peer[-1]:.2f}s", flush=True)
    report("move queue to queue", args.count, ours, peer, "pika consume-publish-confirm-ack")


if __name__ == "__main__":
    main()

"""`mqctl consume --count N --format jsonl > /dev/null` beside a plain pika consume loop
(BlockingConnection, basic_consume, one basic_ack per message, prefetch 1000, no output),
each draining the same N 100-byte messages from the same queue in the same run.

    .venv/bin/python benchmarks/bench_consume.py [--count 100000] [--runs 3]
"""

from __future__ import annotations

import time

import pika
from _common import URL, depth, parse_args, purge, report, run_mqctl, temporary_queue

BODY = "x" * 100


def fill(queue: str, count: int) -> None:
    purge(queue)
    run_mqctl(["publish", "-k", queue, "--body", BODY, "-n", str(count)])
    assert depth(queue) == count, depth(queue)


def pika_consume_loop(queue: str, count: int) -> float:
    started = time.perf_counter()
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1000)
    seen = 0

    def on_message(ch, method, properties, body):  # type: ignore[no-untyped-def]
        nonlocal seen
        ch.basic_ack(method.delivery_tag)
        seen += 1
        if seen >= count:
            ch.stop_consuming()

    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    args = parse_args(__doc__)
    ours: list[float] = []
    peer: list[float] = []
    with temporary_queue() as queue, open("/dev/null", "wb") as devnull:
        for run in range(args.runs):
            fill(queue, args.count)
            ours.append(
                run_mqctl(
                    ["consume", "-q", queue, "-n", str(args.count), "--format", "jsonl"],
                    stdout=devnull.fileno(),
                )
            )
            assert depth(queue) == 0
            fill(queue, args.count)
            peer.append(pika_consume_loop(queue, args.count))
            assert depth(queue) == 0
            print(f"run {run + 1}: mqctl {ours[-1]:.2f}s, pika loop {peer[-1]:.2f}s", flush=True)
    report("consume, jsonl to /dev/null", args.count, ours, peer, "pika BlockingConnection loop")


if __name__ == "__main__":
    main()

"""`mqctl publish --count N` (pipelined confirms) beside a plain pika BlockingConnection loop with
`confirm_delivery()` (one round trip per message), same bodies, same broker, same run.

    .venv/bin/python benchmarks/bench_publish.py [--count 100000] [--runs 3]
"""

from __future__ import annotations

import time

import pika
from _common import URL, parse_args, purge, report, run_mqctl, temporary_queue

BODY = b"x" * 100


def pika_blocking_confirms(queue: str, count: int) -> float:
    started = time.perf_counter()
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.confirm_delivery()
    for _ in range(count):
        channel.basic_publish("", queue, BODY)
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    args = parse_args(__doc__)
    ours: list[float] = []
    peer: list[float] = []
    with temporary_queue() as queue:
        for run in range(args.runs):
            purge(queue)
            ours.append(
                run_mqctl(["publish", "-k", queue, "--body", BODY.decode(), "-n", str(args.count)])
            )
            purge(queue)
            peer.append(pika_blocking_confirms(queue, args.count))
            print(
                f"run {run + 1}: mqctl {ours[-1]:.2f}s, pika blocking {peer[-1]:.2f}s", flush=True
            )
            purge(queue)
    report(
        "publish, confirms on, 100-byte bodies",
        args.count,
        ours,
        peer,
        "pika BlockingConnection+confirms",
    )


if __name__ == "__main__":
    main()

"""`mqctl topology apply --recreate` of a queue holding N messages, beside a pika loop moving the
same messages the same safe way.

The queue is classic with N messages of 100 bytes; the file makes it a quorum queue, which
only --recreate can do: mqctl moves the messages to a temporary queue with confirms, deletes and
declares the queue anew, moves them back and deletes the temporary queue. The peer is the pika
consume-publish-confirm-ack loop of bench_move.py moving them to a second queue, the queue
deleted and declared as a quorum queue, and the loop moving them back: the same job without the
bindings, checks and plan. Each runs as a process of its own, timed whole, with
its peak memory (max RSS, from /usr/bin/time). Run it on the 4.x broker, in a vhost it makes and
deletes:

    scripts/brokers run rabbitmq4 .venv/bin/python benchmarks/bench_recreate.py [--count 100000] [--runs 1]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pika
import requests
from _common import MQCTL, ROOT, parse_args, uptime

API = os.environ.get("MQCTL_BENCH_API", "http://127.0.0.1:15672")
AUTH = ("guest", "guest")
QUEUE = "bench.recreate"
BODY = "x" * 100


def _api(method: str, path: str, body: object = None) -> None:
    response = requests.request(method, f"{API}/api/{path}", json=body, auth=AUTH, timeout=120)
    if method != "DELETE":
        response.raise_for_status()


def depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def timed_process(argv: list[str]) -> tuple[float, int]:
    """Seconds and peak resident memory (KiB) of one process, start-up included."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
        return seconds, int(rss.read().split()[-1])


def fill(url: str, count: int) -> None:
    """The queue as a classic queue holding `count` messages."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_delete(QUEUE)
        channel.queue_declare(QUEUE, durable=True)
    finally:
        connection.close()
    subprocess.run(
        [*MQCTL, "publish", "--url", url, "-k", QUEUE, "--body", BODY, "-n", str(count)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    if depth(url, QUEUE) != count:
        raise SystemExit(f"{QUEUE} holds {depth(url, QUEUE)} messages, not {count}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":  # the peer's own process
        from bench_move import pika_move_loop

        url, count = sys.argv[2], int(sys.argv[3])
        pika_move_loop(QUEUE, QUEUE + ".tmp", count, url)
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.queue_delete(QUEUE)
        channel.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        connection.close()
        pika_move_loop(QUEUE + ".tmp", QUEUE, count, url)
        return
    args = parse_args(__doc__)
    print(f"before: {uptime()}")
    vhost = f"mqctl-bench-{uuid.uuid4().hex[:8]}"
    _api("PUT", f"vhosts/{quote(vhost, safe='')}")
    _api(
        "PUT",
        f"permissions/{quote(vhost, safe='')}/guest",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    url = f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            topology = Path(tmp) / "recreate.yaml"
            topology.write_text(f"vhost: {vhost}\nqueues:\n  - name: {QUEUE}\n    type: quorum\n")
            for run in range(args.runs):
                fill(url, args.count)
                ours, our_rss = timed_process(
                    [
                        *MQCTL,
                        "topology",
                        "apply",
                        "--recreate",
                        "--url",
                        url,
                        "--api",
                        API,
                        str(topology),
                    ]
                )
                if depth(url, QUEUE) != args.count:
                    raise SystemExit(f"after --recreate {QUEUE} holds {depth(url, QUEUE)}")
                fill(url, args.count)
                _api("PUT", f"queues/{quote(vhost, safe='')}/{QUEUE}.tmp", {"durable": True})
                peer, peer_rss = timed_process(
                    [sys.executable, str(Path(__file__)), "--peer", url, str(args.count)]
                )
                if depth(url, QUEUE) != args.count:
                    raise SystemExit(f"after the pika loop {QUEUE} holds {depth(url, QUEUE)}")
                print(
                    f"run {run + 1}: {args.count:,} messages: mqctl topology apply --recreate "
                    f"{ours:.2f} s, peak {our_rss / 1024:.0f} MiB; pika loop (move, redeclare, move) "
                    f"{peer:.2f} s, peak {peer_rss / 1024:.0f} MiB; pika/mqctl time "
                    f"{peer / ours:.2f}, memory {peer_rss / our_rss:.2f}",
                    flush=True,
                )
    finally:
        _api("DELETE", f"vhosts/{quote(vhost, safe='')}")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()

"""Benchmark: `mqctl list queues --format tsv` beside rabbitmqadmin v1 and a raw GET, same run.

In a vhost of its own holding --count queues (10,000 by default; made with one definitions
import, deleted afterwards):
  - `mqctl list queues --vhost V --format tsv` as a new process, as a user runs it (streamed),
  - the same with `--page-size 500` (the API's pagination),
  - rabbitmqadmin v1 `list queues -f tsv`, fetched from this broker's /cli/rabbitmqadmin at
    run time into a temporary directory (never committed),
  - a raw `GET /api/queues/V` with requests and `.json()`, in a process of its own too,
each --runs times, interleaved; best and median, and the ratios. Each process's peak memory (max
RSS from wait4) is printed beside its time: with --count 100000 that is the peak memory for
100,000 queues.

    .venv/bin/python benchmarks/bench_list.py [--count 10000] [--runs 3]

Needs a broker with guest/guest on 127.0.0.1 (scripts/broker's, RabbitMQ 3.x, which serves
rabbitmqadmin v1). The broker's own time to build the list dominates every figure, so on a busy
machine run it against the 4.x broker of scripts/brokers, which nothing else loads; 4.x no longer
serves rabbitmqadmin, so take it from the 3.x broker first:

    .venv/bin/python benchmarks/bench_list.py --fetch-rabbitmqadmin /tmp/rabbitmqadmin
    scripts/brokers run rabbitmq4 .venv/bin/python benchmarks/bench_list.py \
        --rabbitmqadmin /tmp/rabbitmqadmin --count 100000 --runs 1 --no-pages
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import requests
from _common import MQCTL, ROOT, URL

API = "http://127.0.0.1:15672"
AUTH = ("guest", "guest")

RAW_GET = """
import sys, requests
r = requests.get(sys.argv[1], auth=("guest", "guest"), timeout=900)
r.raise_for_status()
rows = r.json()
sys.stdout.write("\\n".join(q["name"] for q in rows))
"""


def q(name: str) -> str:
    return quote(name, safe="")


def make_vhost(vhost: str, count: int) -> float:
    requests.put(f"{API}/api/vhosts/{q(vhost)}", auth=AUTH, timeout=60).raise_for_status()
    body = {
        "queues": [
            {"name": f"bench.q{i:06d}", "durable": False, "auto_delete": False, "arguments": {}}
            for i in range(count)
        ]
    }
    started = time.perf_counter()
    requests.post(
        f"{API}/api/definitions/{q(vhost)}", json=body, auth=AUTH, timeout=3600
    ).raise_for_status()
    return time.perf_counter() - started


def drop_vhost(vhost: str) -> None:
    """The API stops a request (and a vhost's deletion with it) after about a minute: repeat."""
    for _ in range(200):
        try:
            response = requests.delete(f"{API}/api/vhosts/{q(vhost)}", auth=AUTH, timeout=120)
        except requests.RequestException:
            continue
        if response.status_code in (204, 404):
            return
    print(f"warning: vhost {vhost!r} could not be deleted; delete it by hand", file=sys.stderr)


def fetch_rabbitmqadmin_bytes() -> bytes:
    response = requests.get(f"{API}/cli/rabbitmqadmin", timeout=60)
    response.raise_for_status()
    return response.content


def fetch_rabbitmqadmin(directory: Path) -> Path:
    path = directory / "rabbitmqadmin"
    path.write_bytes(fetch_rabbitmqadmin_bytes())
    return path


def peak_rss(argv: list[str]) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one process, stdout to /dev/null (its rusage from wait4)."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.chdir(ROOT)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:4]} failed ({os.waitstatus_to_exitcode(status)})")
    return seconds, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rabbitmqadmin", type=Path, help="a copy fetched beforehand")
    parser.add_argument(
        "--no-pages",
        action="store_true",
        help="leave out --page-size 500 (the broker builds the list once per page: with 100,000 "
        "queues that is 200 times)",
    )
    parser.add_argument(
        "--fetch-rabbitmqadmin", type=Path, help="only fetch rabbitmqadmin v1 to this path"
    )
    args = parser.parse_args()
    if args.fetch_rabbitmqadmin:
        args.fetch_rabbitmqadmin.write_bytes(fetch_rabbitmqadmin_bytes())
        return
    vhost = f"mqctl-bench-list-{uuid.uuid4().hex[:8]}"
    version = requests.get(f"{API}/api/overview", auth=AUTH, timeout=60).json()["rabbitmq_version"]
    print(
        f"RabbitMQ {version}; load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        admin = args.rabbitmqadmin or fetch_rabbitmqadmin(Path(tmp))
        raw = Path(tmp) / "raw_get.py"
        raw.write_text(RAW_GET)
        try:
            print(f"creating {args.count} queues in {vhost}: {make_vhost(vhost, args.count):.1f} s")
            url = f"{API}/api/queues/{q(vhost)}"
            peers = {
                "mqctl list queues --format tsv": [
                    *MQCTL,
                    "list",
                    "queues",
                    "--url",
                    URL,
                    "--vhost",
                    vhost,
                    "--format",
                    "tsv",
                ],
                "mqctl ... --page-size 500": [
                    *MQCTL,
                    "list",
                    "queues",
                    "--url",
                    URL,
                    "--vhost",
                    vhost,
                    "--format",
                    "tsv",
                    "--page-size",
                    "500",
                ],
                "rabbitmqadmin v1 list queues -f tsv": [
                    sys.executable,
                    str(admin),
                    "-V",
                    vhost,
                    "list",
                    "queues",
                    "-f",
                    "tsv",
                ],
                "raw GET /api/queues (requests)": [sys.executable, str(raw), url],
            }
            if args.no_pages:
                del peers["mqctl ... --page-size 500"]
            results: dict[str, list[tuple[float, int]]] = {name: [] for name in peers}
            for _ in range(args.runs):
                for name, argv in peers.items():
                    results[name].append(peak_rss(argv))
            report(args.count, results)
        finally:
            drop_vhost(vhost)
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


def report(count: int, results: dict[str, list[tuple[float, int]]]) -> None:
    print(f"\nlist {count} queues, {len(next(iter(results.values())))} runs each, new processes")
    ours = statistics.median(s for s, _ in results["mqctl list queues --format tsv"])
    for name, runs in results.items():
        times = [s for s, _ in runs]
        rss = max(kib for _, kib in runs) / 1024
        median = statistics.median(times)
        print(
            f"  {name:<38} best {min(times):6.2f} s  median {median:6.2f} s  "
            f"peak RSS {rss:6.1f} MiB  mqctl's speed-up {median / ours:5.2f}x"
        )


if __name__ == "__main__":
    main()

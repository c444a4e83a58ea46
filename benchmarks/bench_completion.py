"""What one TAB costs: `mqctl` answering the bash completion protocol, beside the floor it cannot beat.

The floor is the same interpreter starting and exiting (`python -c pass`); the peer for broker names
is the bare management API request (`GET /api/queues/VHOST?columns=name`) with requests. Cases:
options (no broker), queue names with the cache off, queue names from the cache, an API that
refuses (port 1) and an API that accepts and never answers (the 2 s deadline).

    .venv/bin/python benchmarks/bench_completion.py [--queues 500] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent
API = os.environ.get("MQCTL_TEST_API", "http://127.0.0.1:15672")
AUTH = ("guest", "guest")


def program() -> list[str]:
    return [sys.executable, "-m", "mqctl"]


def tab(line: str, env: dict[str, str]) -> float:
    words = line.split() + ([""] if line.endswith(" ") else [])
    started = time.perf_counter()
    subprocess.run(
        PROGRAM,
        env={
            **env,
            "_MQCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": "\n".join(words),
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


PROGRAM = program()


def floor() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def api_request(vhost: str) -> float:
    started = time.perf_counter()
    url = f"{API}/api/queues/{quote(vhost, safe='')}"
    requests.get(url, params={"columns": "name"}, auth=AUTH, timeout=10).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    vhost = f"mqctl-bench-{uuid.uuid4().hex[:8]}"
    vhost_url = f"{API}/api/vhosts/{quote(vhost, safe='')}"
    requests.put(vhost_url, auth=AUTH, timeout=10).raise_for_status()
    session = requests.Session()
    session.auth = AUTH
    try:
        requests.put(
            f"{API}/api/permissions/{quote(vhost, safe='')}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=AUTH,
            timeout=10,
        ).raise_for_status()
        for i in range(args.queues):
            session.put(
                f"{API}/api/queues/{quote(vhost, safe='')}/orders-{i:05d}",
                json={"durable": False},
                timeout=10,
            ).raise_for_status()
        with tempfile.TemporaryDirectory() as cache, socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)
            env = {k: v for k, v in os.environ.items() if not k.startswith("MQCTL_")}
            env.update(XDG_CACHE_HOME=cache, MQCTL_API=API)
            cold = {**env, "MQCTL_COMPLETION_TTL": "0"}
            warm = {**env, "MQCTL_COMPLETION_TTL": "600"}
            queues = f"mqctl consume --vhost {vhost} --queue orders-001"
            tab(queues, warm)  # fill the cache
            silent_api = f"http://127.0.0.1:{silent.getsockname()[1]}"
            cases: dict[str, Callable[[], float]] = {
                "floor": floor,
                "peer": lambda: api_request(vhost),
                "options (mqctl --vh)": lambda: tab("mqctl --vh", env),
                f"queue names, {args.queues} queues, no cache": lambda: tab(queues, cold),
                "queue names from the cache": lambda: tab(queues, warm),
                "API refuses (port 1), no cache": lambda: tab(
                    "mqctl --api http://127.0.0.1:1 --vhost ", cold
                ),
                "API never answers, no cache": lambda: tab(
                    f"mqctl --api {silent_api} --vhost ", cold
                ),
            }
            # Round robin: each run measures every case once, so a change in the machine's load
            # touches all of them alike; the median of the runs is reported.
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, measure in cases.items():
                    times[name].append(measure())
            medians = {name: statistics.median(values) for name, values in times.items()}
            base, peer = medians.pop("floor"), medians.pop("peer")
            rows = list(medians.items())
    finally:
        gone = requests.delete(vhost_url, auth=AUTH, timeout=300)
        if not gone.ok:
            print(f"could not delete vhost {vhost}: {gone.status_code}", file=sys.stderr)

    print(f"program: {' '.join(PROGRAM[1:])}")
    print(f"interpreter start-up (python -c pass): {base * 1000:7.1f} ms  (the floor)")
    print(f"bare management API request:           {peer * 1000:7.1f} ms  (the peer for names)")
    for label, seconds in rows:
        print(f"{label:40s} {seconds * 1000:7.1f} ms  = {seconds / base:4.1f}x the floor")


if __name__ == "__main__":
    main()

"""Benchmark: `mqctl topology validate` of a large topology (issue 15's target: under a second).

30,000 queues, 100 exchanges and 60,000 bindings, written once as mqctl YAML and once as RabbitMQ
definitions JSON, loaded and checked in-process (`load_topology`, what validate does after start-up).

    .venv/bin/python benchmarks/bench_validate.py [--rounds 3]

Prints the file sizes, the median time of each and the machine's load (the figures mean little
on a busy machine). Needs no broker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from mqctl.topology.validate import load_topology

QUEUES, EXCHANGES, BINDINGS = 30_000, 100, 60_000


def yaml_document() -> dict[str, object]:
    return {
        "vhost": "big",
        "exchanges": [{"name": f"ex.{i}", "type": "topic"} for i in range(EXCHANGES)],
        "queues": [
            {"name": f"queue.{i}", "message_ttl": 60000, "max_length": 1000} for i in range(QUEUES)
        ],
        "bindings": [
            {
                "from": f"ex.{i % EXCHANGES}",
                "to_queue": f"queue.{i % QUEUES}",
                "routing_key": f"k.{i}.#",
            }
            for i in range(BINDINGS)
        ],
    }


def definitions_document() -> dict[str, object]:
    return {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "big"}],
        "exchanges": [
            {
                "name": f"ex.{i}",
                "vhost": "big",
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for i in range(EXCHANGES)
        ],
        "queues": [
            {
                "name": f"queue.{i}",
                "vhost": "big",
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-message-ttl": 60000},
            }
            for i in range(QUEUES)
        ],
        "bindings": [
            {
                "source": f"ex.{i % EXCHANGES}",
                "vhost": "big",
                "destination": f"queue.{i % QUEUES}",
                "destination_type": "queue",
                "routing_key": f"k.{i}.#",
                "arguments": {},
            }
            for i in range(BINDINGS)
        ],
    }


def timed(path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        topology = load_topology([path], {})
        times.append(time.perf_counter() - started)
        assert len(topology) >= QUEUES + BINDINGS
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        big_yaml = Path(tmp) / "big.yaml"
        big_yaml.write_text(yaml.safe_dump(yaml_document(), width=200), encoding="utf-8")
        big_json = Path(tmp) / "big.json"
        big_json.write_text(json.dumps(definitions_document()), encoding="utf-8")
        for path in (big_yaml, big_json):
            size = path.stat().st_size / 1e6
            print(
                f"validate {path.name} ({size:.1f} MB): {timed(path, rounds):.2f} s (target < 1 s)"
            )
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()

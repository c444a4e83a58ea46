"""Benchmark: `mqctl topology validate` of a large topology (issue 15's target: under a second).

30,000 queues, 100 exchanges and 60,000 bindings, written once as mqctl YAML and once as RabbitMQ
definitions JSON, loaded and checked in-process (`load_topology`, what validate does after start-up) and by the
whole `mqctl topology validate FILE` process, beside the peer: PyYAML's libyaml loader (or json)
reading the same file and checking nothing.

    .venv/bin/python benchmarks/bench_validate.py [--rounds 3]
    .venv/bin/python benchmarks/bench_validate.py --instructions [--baseline OTHER_CHECKOUT]

Prints the file sizes, the median wall and CPU time of each (CPU time moves less with the load of
a shared machine) and the machine's load before and after. Needs no broker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import ROOT, callgrind_instructions, run_process, uptime

from mqctl.topology.validate import load_topology

QUEUES, EXCHANGES, BINDINGS = 30_000, 100, 60_000


def yaml_document(queues: int = QUEUES, bindings: int = BINDINGS) -> dict[str, object]:
    return {
        "vhost": "big",
        "exchanges": [{"name": f"ex.{i}", "type": "topic"} for i in range(EXCHANGES)],
        "queues": [
            {"name": f"queue.{i}", "message_ttl": 60000, "max_length": 1000} for i in range(queues)
        ],
        "bindings": [
            {
                "from": f"ex.{i % EXCHANGES}",
                "to_queue": f"queue.{i % queues}",
                "routing_key": f"k.{i}.#",
            }
            for i in range(bindings)
        ],
    }


def definitions_document(queues: int = QUEUES, bindings: int = BINDINGS) -> dict[str, object]:
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
            for i in range(queues)
        ],
        "bindings": [
            {
                "source": f"ex.{i % EXCHANGES}",
                "vhost": "big",
                "destination": f"queue.{i % queues}",
                "destination_type": "queue",
                "routing_key": f"k.{i}.#",
                "arguments": {},
            }
            for i in range(bindings)
        ],
    }


def timed(path: Path, rounds: int) -> tuple[float, float]:
    """Median wall and CPU seconds of loading and checking `path` in-process."""
    walls, cpus = [], []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        topology = load_topology([path], {})
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        assert len(topology) >= QUEUES + BINDINGS
    return statistics.median(walls), statistics.median(cpus)


def parsed_only(path: Path, rounds: int) -> float:
    """The peer: the same file read by PyYAML's libyaml loader, or by json, checking nothing."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with path.open(encoding="utf-8") as stream:
            if path.suffix == ".json":
                json.load(stream)
            else:
                yaml.load(stream, Loader=yaml.CSafeLoader)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def whole_command(path: Path, rounds: int) -> float:
    """Median seconds of the `mqctl topology validate FILE` process, start-up included."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        done = run_process("topology", "validate", str(path), timeout=None)
        times.append(time.perf_counter() - started)
        if done.status != 0:
            raise SystemExit(f"mqctl topology validate failed ({done.status}): {done.err}")
    return statistics.median(times)


def instructions(path: Path, checkout: Path) -> int:
    """Instructions executed loading and checking `path` with the mqctl of `checkout`."""
    program = "import sys; from mqctl.topology.validate import load_topology; load_topology([sys.argv[1]], {})"
    return callgrind_instructions(
        [sys.executable, "-c", program, str(path)],
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd=checkout,
    )


def count_instructions(baseline: Path | None) -> None:
    """A tenth of the topology (callgrind is slow), in both formats, with this checkout's code
    and, given a baseline checkout, with that one's."""
    queues, bindings = QUEUES // 10, BINDINGS // 10
    with tempfile.TemporaryDirectory() as tmp:
        small_yaml = Path(tmp) / "tenth.yaml"
        small_yaml.write_text(
            yaml.safe_dump(yaml_document(queues, bindings), width=200), encoding="utf-8"
        )
        small_json = Path(tmp) / "tenth.json"
        small_json.write_text(json.dumps(definitions_document(queues, bindings)), encoding="utf-8")
        for path in (small_yaml, small_json):
            ours = instructions(path, ROOT)
            line = f"instructions, {path.name} ({queues + bindings + EXCHANGES:,} objects): {ours / 1e9:.2f} G"
            if baseline is not None:
                theirs = instructions(path, baseline)
                line += f"; {baseline}: {theirs / 1e9:.2f} G (baseline/this {theirs / ours:.2f})"
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true", help="count with callgrind instead")
    parser.add_argument("--baseline", type=Path, help="with --instructions: another checkout")
    options = parser.parse_args()
    if options.instructions:
        count_instructions(options.baseline)
        return
    rounds = options.rounds
    print(f"before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        big_yaml = Path(tmp) / "big.yaml"
        big_yaml.write_text(yaml.safe_dump(yaml_document(), width=200), encoding="utf-8")
        big_json = Path(tmp) / "big.json"
        big_json.write_text(json.dumps(definitions_document()), encoding="utf-8")
        for path in (big_yaml, big_json):
            size = path.stat().st_size / 1e6
            wall, cpu = timed(path, rounds)
            command = whole_command(path, rounds)
            peer = parsed_only(path, rounds)
            loader = "json.load" if path.suffix == ".json" else "yaml.load(CSafeLoader)"
            print(
                f"validate {path.name} ({size:.1f} MB, {QUEUES + BINDINGS + EXCHANGES:,} objects): "
                f"in-process {wall:.2f} s ({cpu:.2f} s CPU), whole command {command:.2f} s "
                f"(target < 1 s); {loader} alone {peer:.2f} s (peer/mqctl time ratio {peer / wall:.2f})"
            )
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()

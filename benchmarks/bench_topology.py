"""Benchmark: `mqctl topology` plan and apply against the broker's own import and pika.

A generated topology of 1,000 queues, 100 exchanges and 2,000 bindings, applied to fresh vhosts
in the same run by:
  - `mqctl topology apply` as a user runs it (a new process: load the YAML, read the broker's
    state, plan, check, create), with --via auto (the default: AMQP declares once the AMQP URL is
    shown to reach the same broker), --via http (the broker's definitions import, per vhost) and
    --via amqp (declares pipelined over many channels),
  - RabbitMQ's own definitions import (one POST /api/definitions/{vhost} of the same objects),
  - pika, one declare at a time (what a hand-written provisioning script does),
then `mqctl topology plan` (a new process too) against the vhost that already has it (target
under 0.5 s), of the YAML and of the same objects as RabbitMQ definitions JSON (target under
0.3 s), beside `mqctl --version`, the start-up every command pays.

    .venv/bin/python benchmarks/bench_topology.py [--rounds 3]

Prints each figure (median of the rounds) and the ratios. Needs the broker of scripts/broker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pika
import requests
import yaml
from _common import run_mqctl

from mqctl.config import ConnectionOptions, resolve
from mqctl.management import ManagementClient
from mqctl.topology.apply import make_plan
from mqctl.topology.backends.http import HttpBackend
from mqctl.topology.validate import load_topology

API = "http://127.0.0.1:15672"
AUTH = ("guest", "guest")
QUEUES, EXCHANGES, BINDINGS = 1000, 100, 2000


def q(name: str) -> str:
    return quote(name, safe="")


def generate(vhost: str) -> dict[str, Any]:
    """mqctl's YAML format; every queue bound twice, exchanges of the four built-in types."""
    types = ["direct", "topic", "fanout", "headers"]
    return {
        "vhost": vhost,
        "exchanges": [{"name": f"bench.x{i}", "type": types[i % 4]} for i in range(EXCHANGES)],
        "queues": [
            {"name": f"bench.q{i}", **({"message_ttl": 60000} if i % 3 == 0 else {})}
            for i in range(QUEUES)
        ],
        "bindings": [
            {
                "from": f"bench.x{i % EXCHANGES}",
                "to_queue": f"bench.q{i % QUEUES}",
                "routing_key": f"key.{i}",
            }
            for i in range(BINDINGS)
        ],
    }


def as_definitions(doc: dict[str, Any]) -> dict[str, Any]:
    vhost = doc["vhost"]
    return {
        "exchanges": [
            {
                "name": e["name"],
                "vhost": vhost,
                "type": e["type"],
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for e in doc["exchanges"]
        ],
        "queues": [
            {
                "name": x["name"],
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-message-ttl": x["message_ttl"]} if "message_ttl" in x else {},
            }
            for x in doc["queues"]
        ],
        "bindings": [
            {
                "source": b["from"],
                "vhost": vhost,
                "destination": b["to_queue"],
                "destination_type": "queue",
                "routing_key": b["routing_key"],
                "arguments": {},
            }
            for b in doc["bindings"]
        ],
    }


def new_vhost() -> str:
    name = f"mqctl-bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{API}/api/vhosts/{q(name)}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API}/api/permissions/{q(name)}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=30,
    ).raise_for_status()
    return name


def drop_vhost(name: str) -> None:
    requests.delete(f"{API}/api/vhosts/{q(name)}", auth=AUTH, timeout=120)


def settings_for(vhost: str) -> Any:
    return resolve(
        ConnectionOptions(url=f"amqp://guest:guest@127.0.0.1:5672/{q(vhost)}", api=API), env={}
    )


def mqctl_apply(path: Path, via: str) -> float:
    """`mqctl topology apply --via VIA FILE`: load, read state, plan, check, create."""
    return run_mqctl(["topology", "apply", "--via", via, "--api", API, str(path)])


def mqctl_plan(path: Path, vhost: str) -> tuple[float, float, float, bool]:
    """Seconds loading the YAML and planning in process (the library call), seconds of the
    `mqctl topology plan FILE` command, and whether the plan has changes."""
    start = time.perf_counter()
    desired = load_topology([path], env={})
    loaded = time.perf_counter() - start
    with ManagementClient(settings_for(vhost)) as client:
        plan, _ = make_plan(HttpBackend(client), desired)
    in_process = time.perf_counter() - start
    # plan exits 2 when there are changes; the check below says so.
    seconds = run_mqctl(["topology", "plan", "--api", API, str(path)], ok=(0, 2))
    return loaded, in_process, seconds, plan.has_changes


def plan_definitions(tmp: str, vhost: str) -> tuple[float, float]:
    """Seconds of planning the same objects written as RabbitMQ definitions JSON (issue 18's
    3,100-object file), in process and as the `mqctl topology plan FILE.json` command."""
    path = Path(tmp) / f"{vhost}.json"
    definitions = {"rabbit_version": "3.10", "vhosts": [{"name": vhost}]}
    definitions.update(as_definitions(generate(vhost)))
    path.write_text(json.dumps(definitions), encoding="utf-8")
    start = time.perf_counter()
    with ManagementClient(settings_for(vhost)) as client:
        plan, _ = make_plan(HttpBackend(client), load_topology([path], env={}))
    in_process = time.perf_counter() - start
    if plan.has_changes:
        raise SystemExit("error: plan of the definitions JSON after apply is not empty")
    return in_process, run_mqctl(["topology", "plan", "--api", API, str(path)])


def rabbit_import(defs: dict[str, Any], vhost: str) -> float:
    body = {k: [{**o, "vhost": vhost} for o in v] for k, v in defs.items()}
    start = time.perf_counter()
    with requests.Session() as session:
        response = session.post(
            f"{API}/api/definitions/{q(vhost)}", json=body, auth=AUTH, timeout=300
        )
        response.raise_for_status()
    return time.perf_counter() - start


def pika_one_by_one(doc: dict[str, Any], vhost: str) -> float:
    start = time.perf_counter()
    params = pika.URLParameters(f"amqp://guest:guest@127.0.0.1:5672/{q(vhost)}")
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    for e in doc["exchanges"]:
        channel.exchange_declare(e["name"], e["type"], durable=True)
    for x in doc["queues"]:
        args = {"x-message-ttl": x["message_ttl"]} if "message_ttl" in x else None
        channel.queue_declare(x["name"], durable=True, arguments=args)
    for b in doc["bindings"]:
        channel.queue_bind(b["to_queue"], b["from"], b["routing_key"])
    connection.close()
    return time.perf_counter() - start


def timed_in_fresh_vhost(run: Callable[[str], float], keep: bool = False) -> tuple[float, str]:
    vhost = new_vhost()
    try:
        return run(vhost), vhost
    finally:
        if not keep:
            drop_vhost(vhost)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {
        "mqctl apply": [],
        "mqctl apply amqp": [],
        "mqctl apply auto": [],
        "definitions import": [],
        "pika": [],
        "mqctl plan": [],
        "plan in process": [],
        "load": [],
        "plan json": [],
        "plan json in process": [],
        "start-up": [],
    }
    print(f"before: {_load()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            # Each runner gets its own fresh vhost; the order rotates so none always goes first.
            runners: list[tuple[str, Callable[[str], float]]] = [
                ("mqctl apply", lambda v: mqctl_apply(_write(tmp, v), "http")),
                ("definitions import", lambda v: rabbit_import(as_definitions(generate(v)), v)),
                ("pika", lambda v: pika_one_by_one(generate(v), v)),
                ("mqctl apply amqp", lambda v: mqctl_apply(_write(tmp, v), "amqp")),
                ("mqctl apply auto", lambda v: mqctl_apply(_write(tmp, v), "auto")),
            ]
            turn = round_no % len(runners)
            runners = runners[turn:] + runners[:turn]
            for name, run in runners:
                if name == "mqctl apply":
                    seconds, vhost = timed_in_fresh_vhost(run, keep=True)
                    try:
                        load, in_process, plan_seconds, changes = mqctl_plan(
                            _write(tmp, vhost), vhost
                        )
                        if changes:
                            print("error: plan after apply is not empty", file=sys.stderr)
                            return 1
                        figures["mqctl plan"].append(plan_seconds)
                        figures["load"].append(load)
                        figures["plan in process"].append(in_process)
                        json_in_process, json_seconds = plan_definitions(tmp, vhost)
                        figures["plan json"].append(json_seconds)
                        figures["plan json in process"].append(json_in_process)
                        figures["start-up"].append(run_mqctl(["--version"]))
                    finally:
                        drop_vhost(vhost)
                else:
                    seconds, _ = timed_in_fresh_vhost(run)
                figures[name].append(seconds)
                print(f"round {round_no + 1}: {name}: {seconds:.2f} s", file=sys.stderr)
    med = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"topology: {QUEUES} queues, {EXCHANGES} exchanges, {BINDINGS} bindings; "
        f"median of {args.rounds} rounds"
    )
    imp, pika_s = med["definitions import"], med["pika"]
    print(f"  RabbitMQ definitions import (peer):          {imp:.2f} s")
    print(f"  pika, one object at a time (peer):           {pika_s:.2f} s")
    for label, key in (
        ("--via auto", "mqctl apply auto"),
        ("--via http", "mqctl apply"),
        ("--via amqp", "mqctl apply amqp"),
    ):
        mine = med[key]
        print(
            f"  mqctl topology apply {label} (empty vhost): {mine:.2f} s   "
            f"mqctl/import {mine / imp:.2f} (default's target <= 0.8), "
            f"pika/mqctl {pika_s / mine:.2f} (target >= 2)"
        )
    print(
        f"  mqctl topology plan (broker has it):         {med['mqctl plan']:.3f} s "
        f"(target < 0.5 s); in process {med['plan in process']:.3f} s, "
        f"of which loading the YAML {med['load']:.3f} s"
    )
    print(
        f"  mqctl topology plan of the definitions JSON: {med['plan json']:.3f} s "
        f"(target < 0.3 s); in process {med['plan json in process']:.3f} s; "
        f"mqctl --version alone (start-up) {med['start-up']:.3f} s"
    )
    print(f"  {_load()}")
    return 0


def _load() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {load} on {os.cpu_count()} cores"


def _write(tmp: str, vhost: str) -> Path:
    path = Path(tmp) / f"{vhost}.yaml"
    if not path.exists():
        path.write_text(yaml.safe_dump(generate(vhost), sort_keys=False), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())

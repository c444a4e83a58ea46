"""Benchmark: `mqctl list queues --format tsv` beside rabbitmqadmin v1 and a raw GET, same run.

In a vhost of its own holding --count queues (10,000 by default; declared over AMQP, deleted
afterwards), each as a new process, interleaved, --runs times:
  - `mqctl list queues --vhost V --format tsv` (its default columns, streamed),
  - rabbitmqadmin v1 `list queues COLUMNS -f tsv` with the same columns (the same output byte for
    byte), fetched from a broker's /cli/rabbitmqadmin at run time (never committed),
  - a raw `GET /api/queues/V` with requests and `.json()`, asked for the same columns,
and the same three for rabbitmqadmin's own default columns (name, messages), plus the raw GET
of every field and, unless --no-pages, mqctl's `--page-size 500`. Best, median, each process's
peak memory (max RSS from wait4) and mqctl's speed-up over each peer, median against median and
run by run. The broker's own answer is timed too, in this process: the GET mqctl sends, with
and without gzip, so that what is left of mqctl's time is its own (start-up, decoding,
writing), printed beside `mqctl list vhosts` (start-up and one small request).

The broker keeps its last lookup of the queues' statistics (rabbit_mgmt_db_cache, one for all
queue listings) for 5 times as long as the lookup took, and hands it to the next listing of the
same queues: for 10,000 queues two thirds of the answer's cost. Without care a peer that
follows another within that time answers in a third of the time: which one did depended on
the order and on each one's start-up. So before each process and each timed answer the cache
is emptied (`--stats-cache cold`, the default: what one command typed at a prompt meets) or
filled with the same lookup (`warm`: right after another listing). Every process runs without
PYTHONUNBUFFERED, which a shell seldom sets and which makes every printed row a write(2).

    .venv/bin/python benchmarks/bench_list.py [--count 10000] [--runs 5]

The 4.x broker of scripts/brokers no longer serves rabbitmqadmin v1; take it from the 3.x
system broker first, then run against the 4.x one, which the other engineers' tests load less:

    .venv/bin/python benchmarks/bench_list.py --fetch-rabbitmqadmin /tmp/rabbitmqadmin
    scripts/brokers run rabbitmq4 .venv/bin/python benchmarks/bench_list.py \
        --rabbitmqadmin /tmp/rabbitmqadmin [--stats-cache warm]
    # peak memory for 100,000 queues (the broker builds a page list 200 times: no pages)
    scripts/brokers run rabbitmq4 nice -n 10 .venv/bin/python benchmarks/bench_list.py \
        --rabbitmqadmin /tmp/rabbitmqadmin --count 100000 --runs 1 --no-pages
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import requests
from _common import MQCTL, ROOT, URL, uptime

from mqctl.config import ConnectionOptions, ConnectionSettings, resolve
from mqctl.operate.kinds import KINDS
from mqctl.operate.listing import stats_params
from mqctl.topology.backends.amqp import AmqpBackend
from mqctl.topology.model import Queue, Topology

API = "http://127.0.0.1:15672"
AUTH = ("guest", "guest")
DEFAULT = KINDS["queues"].columns
ADMIN_DEFAULT = ("name", "messages")  # rabbitmqadmin v1's columns for `list queues`
BESIDE = "beside them (no ratio)"

# The floor for a client in Python: requests, the whole answer decoded at once, tsv written.
RAW_GET = """
import sys, requests
params = {"columns": sys.argv[2]} if len(sys.argv) > 2 else {}
r = requests.get(sys.argv[1], params=params, auth=("guest", "guest"), timeout=900)
r.raise_for_status()
rows = r.json()
columns = sys.argv[2].split(",") if len(sys.argv) > 2 else ["name"]
def cell(row, path):
    for step in path.split("."):
        row = row.get(step) if isinstance(row, dict) else None
    return "" if row is None else str(row)
sys.stdout.write("\\n".join("\\t".join(cell(q, c) for c in columns) for q in rows))
"""


def q(name: str) -> str:
    return quote(name, safe="")


DELETERS = 4  # AMQP connections deleting queues side by side


def queue_names(count: int) -> list[str]:
    return [f"bench.q{i:06d}" for i in range(count)]


def add_vhost(vhost: str) -> None:
    requests.put(f"{API}/api/vhosts/{q(vhost)}", auth=AUTH, timeout=60).raise_for_status()
    requests.put(
        f"{API}/api/permissions/{q(vhost)}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=60,
    ).raise_for_status()


def amqp_settings(vhost: str) -> ConnectionSettings:
    return resolve(ConnectionOptions(url=URL, api=API, vhost=vhost), env={})


def make_vhost(vhost: str, count: int) -> float:
    """The vhost and its queues, declared over AMQP pipelined on many channels (mqctl's own
    bulk path): faster than one definitions import, which the broker cut off at about 82,000
    queues (its request limit)."""
    add_vhost(vhost)
    started = time.perf_counter()
    backend = AmqpBackend(amqp_settings(vhost))
    try:
        backend.bulk_create(
            [Queue(vhost, name) for name in queue_names(count)], existing=Topology()
        )
    finally:
        backend.close()
    return time.perf_counter() - started


def delete_queues(vhost: str, names: list[str]) -> None:
    """Queue by queue over AMQP, on DELETERS connections at once (mqctl's own delete path)."""
    failures: list[BaseException] = []

    def delete_share(share: list[str]) -> None:
        backend = AmqpBackend(amqp_settings(vhost))
        try:
            for name in share:
                backend.delete(Queue(vhost, name))
        except Exception as exc:  # reported by the caller, which then leaves the vhost to the API
            failures.append(exc)
        finally:
            backend.close()

    threads = [
        threading.Thread(target=delete_share, args=(names[i::DELETERS],)) for i in range(DELETERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"warning: deleting queues over AMQP: {failures[0]}", file=sys.stderr)


def drop_vhost(vhost: str, count: int = 0) -> None:
    """Its queues deleted over AMQP first: the API deletes a vhost's queues within its one
    request, which the broker stops after about a minute (100,000 queues never went), leaving
    the vhost half deleted. Then the vhost, repeated while the API cuts it off."""
    if count:
        started = time.perf_counter()
        delete_queues(vhost, queue_names(count))
        print(f"deleting {count} queues over AMQP: {time.perf_counter() - started:.1f} s")
    for _ in range(200):
        try:
            response = requests.delete(f"{API}/api/vhosts/{q(vhost)}", auth=AUTH, timeout=120)
        except requests.RequestException:
            continue
        if response.status_code in (204, 404):
            return
    print(f"warning: vhost {vhost!r} could not be deleted; delete it by hand", file=sys.stderr)


class StatsCache:
    """The broker's cached lookup of queue statistics, emptied or filled before each sample.

    It is one per broker and reused only for a listing of the same queues; a statistics lookup
    of other queues replaces it. Emptied: such a lookup of an empty vhost (nothing to keep).
    Filled: the lookup of the bench's queues, which then holds for 5 times as long as it took.
    """

    def __init__(self, mode: str, vhost: str, empty_vhost: str) -> None:
        self.mode = mode
        self.vhost = vhost if mode == "warm" else empty_vhost
        # `consumers` needs the statistics (`name` alone would not look them up).
        self.params = {"columns": "name,consumers"}

    def prepare(self) -> None:
        url = f"{API}/api/queues/{q(self.vhost)}"
        headers = {"Accept-Encoding": "identity"}
        response = requests.get(url, params=self.params, headers=headers, auth=AUTH, timeout=900)
        response.raise_for_status()


def fetch_rabbitmqadmin_bytes() -> bytes:
    response = requests.get(f"{API}/cli/rabbitmqadmin", timeout=60)
    response.raise_for_status()
    return response.content


class Sample(NamedTuple):
    seconds: float  # wall clock, start-up included
    cpu: float  # the process's own user + system time: what it costs beside the broker
    rss_kib: int  # peak resident memory
    status: int = 0  # its exit status: with 100,000 queues the broker may cut a GET off at 60 s


def measure(argv: list[str]) -> Sample:
    """One process, stdout to /dev/null, its rusage from wait4."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.chdir(ROOT)
        os.execve(argv[0], argv, env)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    return Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code)


def broker_cpu(pid: int | None) -> float:
    """The broker's user + system seconds so far (/proc), or 0 without its pid."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_answer(
    url: str, columns: tuple[str, ...], gzip: bool, pid: int | None
) -> tuple[float, float]:
    """Seconds from sending mqctl's GET to the answer's last byte (start-up and decoding left
    out), and the broker's CPU seconds for it: its part of mqctl's time. The CPU time hardly
    depends on how loaded the machine is, the wall time does."""
    params = {"columns": ",".join(columns), **stats_params(KINDS["queues"], columns)}
    headers = {} if gzip else {"Accept-Encoding": "identity"}
    cpu = broker_cpu(pid)
    started = time.perf_counter()
    try:
        response = requests.get(url, params=params, headers=headers, auth=AUTH, timeout=900)
        response.raise_for_status()
        _ = response.content
    except requests.RequestException as exc:
        print(f"  (the broker did not answer {columns[:2]}...: {exc})", file=sys.stderr)
        return float("nan"), float("nan")
    return time.perf_counter() - started, broker_cpu(pid) - cpu


def peers(admin: Path, raw: Path, vhost: str, pages: bool) -> dict[str, dict[str, list[str]]]:
    """Groups of commands that print the same thing; the first of each is mqctl's."""
    url = f"{API}/api/queues/{q(vhost)}"
    mqctl = [*MQCTL, "list", "queues", "--url", URL, "--vhost", vhost, "--format", "tsv"]
    rabbitmqadmin = [sys.executable, str(admin), "-V", vhost, "list", "queues"]
    groups = {
        f"mqctl's default columns ({len(DEFAULT)})": {
            "mqctl list queues --format tsv": mqctl,
            "rabbitmqadmin v1 list queues COLUMNS -f tsv": [*rabbitmqadmin, *DEFAULT, "-f", "tsv"],
            "raw GET /api/queues?columns=COLUMNS": [
                sys.executable,
                str(raw),
                url,
                ",".join(DEFAULT),
            ],
        },
        "rabbitmqadmin's default columns (name, messages)": {
            "mqctl list queues --columns name,messages": [*mqctl, "--columns", "name,messages"],
            "rabbitmqadmin v1 list queues -f tsv": [*rabbitmqadmin, "-f", "tsv"],
            "raw GET /api/queues?columns=name,messages": [
                sys.executable,
                str(raw),
                url,
                ",".join(ADMIN_DEFAULT),
            ],
        },
        BESIDE: {
            "mqctl list vhosts (start-up, one small GET)": [
                *MQCTL,
                "list",
                "vhosts",
                "--url",
                URL,
                "--format",
                "tsv",
            ],
            "raw GET /api/queues (every field)": [sys.executable, str(raw), url],
        },
    }
    if pages:
        groups[BESIDE]["mqctl list queues --page-size 500"] = [*mqctl, "--page-size", "500"]
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rabbitmqadmin", type=Path, help="a copy fetched beforehand")
    parser.add_argument(
        "--no-pages",
        action="store_true",
        help="leave out --page-size 500 (the broker builds the list once per page: with 100,000 "
        "queues that is 200 times)",
    )
    parser.add_argument(
        "--stats-cache",
        choices=("cold", "warm"),
        default="cold",
        help="before each sample, empty the broker's cached statistics lookup (cold: what one "
        "command meets) or fill it (warm: right after another listing of the same queues)",
    )
    parser.add_argument(
        "--fetch-rabbitmqadmin", type=Path, help="only fetch rabbitmqadmin v1 to this path"
    )
    parser.add_argument(
        "--broker-pid",
        type=int,
        help="the broker's beam.smp, to report its CPU per answer (scripts/brokers' rabbitmq4: "
        "the beam.smp that `ip netns identify PID` puts in mqctl-rabbitmq4)",
    )
    args = parser.parse_args()
    if args.fetch_rabbitmqadmin:
        args.fetch_rabbitmqadmin.write_bytes(fetch_rabbitmqadmin_bytes())
        return
    vhost = f"mqctl-bench-list-{uuid.uuid4().hex[:8]}"
    empty_vhost = f"{vhost}-empty"
    version = requests.get(f"{API}/api/overview", auth=AUTH, timeout=60).json()["rabbitmq_version"]
    print(f"RabbitMQ {version}, {os.cpu_count()} cores; before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        admin = args.rabbitmqadmin
        if admin is None:
            admin = Path(tmp) / "rabbitmqadmin"
            admin.write_bytes(fetch_rabbitmqadmin_bytes())
        raw = Path(tmp) / "raw_get.py"
        raw.write_text(RAW_GET)
        try:
            print(f"creating {args.count} queues in {vhost}: {make_vhost(vhost, args.count):.1f} s")
            add_vhost(empty_vhost)
            cache = StatsCache(args.stats_cache, vhost, empty_vhost)
            print(f"the broker's statistics cache: {args.stats_cache} before each sample")
            groups = peers(admin, raw, vhost, pages=not args.no_pages)
            results: dict[str, list[Sample]] = {
                name: [] for group in groups.values() for name in group
            }
            url = f"{API}/api/queues/{q(vhost)}"
            answers: dict[str, list[tuple[float, float]]] = {}
            for run in range(args.runs):
                for group in groups.values():
                    # Each run starts the group with the next peer, so that none always
                    # follows the same one.
                    names = list(group)
                    for name in names[run % len(names) :] + names[: run % len(names)]:
                        cache.prepare()
                        results[name].append(measure(group[name]))
                for columns in (DEFAULT, ADMIN_DEFAULT):
                    for gzip in (True, False):
                        label = f"columns={','.join(columns)[:40]}... gzip={gzip}"
                        cache.prepare()
                        answers.setdefault(label, []).append(
                            broker_answer(url, columns, gzip, args.broker_pid)
                        )
            report(args.count, args.runs, groups, results, answers)
        finally:
            drop_vhost(empty_vhost)
            drop_vhost(vhost, args.count)
    print(f"after: {uptime()}")


def report(
    count: int,
    runs: int,
    groups: dict[str, dict[str, list[str]]],
    results: dict[str, list[Sample]],
    answers: dict[str, list[tuple[float, float]]],
) -> None:
    print(f"\nlist {count} queues, {runs} runs each, new processes, interleaved")
    for title, group in groups.items():
        print(f"{title}:")
        ours = [sample.seconds for sample in results[next(iter(group))]]
        for name in group:
            failed = [sample.status for sample in results[name] if sample.status != 0]
            if failed:
                print(f"  {name:<46} failed (exit {failed[0]}) in {len(failed)} of {runs} runs")
                continue
            times = [sample.seconds for sample in results[name]]
            cpu = statistics.median(sample.cpu for sample in results[name])
            rss = max(sample.rss_kib for sample in results[name]) / 1024
            line = (
                f"  {name:<46} best {min(times):6.2f} s  median {statistics.median(times):6.2f} s"
                f"  own CPU {cpu:5.2f} s  peak RSS {rss:6.1f} MiB"
            )
            if title != BESIDE:
                speedup = statistics.median(times) / statistics.median(ours)
                by_run = " ".join(f"{p / o:.2f}" for p, o in zip(times, ours, strict=True))
                line += f"  mqctl's speed-up {speedup:5.2f}x (runs: {by_run})"
            print(line)
    print("the broker's answer to mqctl's GET, in this process (no start-up, no decoding):")
    for label, samples in answers.items():
        times = [wall for wall, _ in samples]
        cpu = statistics.median(cpu for _, cpu in samples)
        print(
            f"  {label:<52} best {min(times):6.2f} s  median {statistics.median(times):6.2f} s"
            f"  broker CPU {cpu:5.2f} s"
        )


if __name__ == "__main__":
    main()

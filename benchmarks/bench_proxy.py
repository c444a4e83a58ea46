"""Benchmark: publishing through `mqctl wire proxy` (decoding every frame) against publishing direct.

A pika publisher (SelectConnection, publisher confirms, a window of unconfirmed messages kept full)
sends N messages of SIZE bytes to a fresh queue, first straight to the broker, then through
`python -m mqctl wire proxy` with its output (every frame decoded and rendered) going to /dev/null,
alternating, several rounds; the best run of each is compared. The proxy's own figures (frames
decoded, bytes skipped when the output could not keep up) are read from its --summary on stderr.

    .venv/bin/python benchmarks/bench_proxy.py                 # 100,000 x 100 bytes, 3 rounds
    .venv/bin/python benchmarks/bench_proxy.py --count 20000 --rounds 1

Needs RabbitMQ on 127.0.0.1:5672 (scripts/broker). The machine's other load counts: run it twice.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pika
import pika.exceptions

BROKER = ("127.0.0.1", 5672)


@dataclass
class PublishResult:
    seconds: float
    acked: int
    nacked: int

    def rate(self, count: int) -> float:
        return count / self.seconds


class ConfirmedPublisher:
    """Publishes `count` messages keeping `window` unconfirmed, on pika's SelectConnection."""

    def __init__(self, port: int, count: int, size: int, window: int) -> None:
        self.port = port
        self.count = count
        self.body = os.urandom(size // 2).hex().encode()[:size].ljust(size, b"x")
        self.window = window
        self.queue = f"mqctl-bench-proxy-{uuid.uuid4().hex[:10]}"
        self.published = 0
        self.confirmed = 0
        self.acked = 0
        self.nacked = 0
        self.started = 0.0
        self.finished = 0.0
        self.error: str | None = None
        self.properties = pika.BasicProperties(content_type="text/plain", delivery_mode=1)
        self.connection: pika.SelectConnection | None = None
        self.channel: pika.channel.Channel | None = None

    def run(self) -> PublishResult:
        params = pika.ConnectionParameters(
            BROKER[0], self.port, heartbeat=0, connection_attempts=3, retry_delay=0.5
        )
        self.connection = pika.SelectConnection(
            params,
            on_open_callback=self._opened,
            on_open_error_callback=self._failed,
            on_close_callback=lambda _c, _r: self.connection.ioloop.stop(),  # type: ignore[union-attr]
        )
        self.connection.ioloop.start()
        if self.error:
            raise SystemExit(f"bench_proxy: publisher failed: {self.error}")
        return PublishResult(self.finished - self.started, self.acked, self.nacked)

    def _failed(self, _connection: object, error: BaseException) -> None:
        self.error = str(error)
        assert self.connection is not None
        self.connection.ioloop.stop()

    def _opened(self, connection: pika.SelectConnection) -> None:
        connection.channel(on_open_callback=self._channel_opened)

    def _channel_opened(self, channel: pika.channel.Channel) -> None:
        self.channel = channel
        channel.confirm_delivery(ack_nack_callback=self._confirmed, callback=self._selected)

    def _selected(self, _frame: object) -> None:
        assert self.channel is not None
        self.channel.queue_declare(self.queue, callback=self._declared)

    def _declared(self, _frame: object) -> None:
        self.started = time.perf_counter()
        self._fill()

    def _fill(self) -> None:
        channel = self.channel
        assert channel is not None
        publish, body, props, queue = channel.basic_publish, self.body, self.properties, self.queue
        while self.published < self.count and self.published - self.confirmed < self.window:
            publish("", queue, body, props)
            self.published += 1

    def _confirmed(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tag = method.delivery_tag
        done = tag - self.confirmed if method.multiple else 1
        if isinstance(method, pika.spec.Basic.Ack):
            self.acked += done
        else:
            self.nacked += done
        self.confirmed = max(self.confirmed, tag) if method.multiple else self.confirmed + 1
        if self.confirmed >= self.count:
            self.finished = time.perf_counter()
            assert self.channel is not None
            self.channel.queue_delete(self.queue, callback=lambda _f: self._close())
        else:
            self._fill()

    def _close(self) -> None:
        assert self.connection is not None
        self.connection.close()


def start_proxy(fmt: str) -> tuple[subprocess.Popen[bytes], int]:
    """`mqctl wire proxy` on an ephemeral port, stdout to /dev/null; returns it and its port."""
    command = [
        sys.executable,
        "-m",
        "mqctl",
        "wire",
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        f"{BROKER[0]}:{BROKER[1]}",
    ]
    if fmt != "human":
        command += ["--format", fmt]
    devnull = open(os.devnull, "wb")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(command, stdout=devnull, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    found = re.search(r"listening on \S+:(\d+)", line)
    if not found:
        proc.kill()
        raise SystemExit(f"bench_proxy: the proxy did not start: {line.strip()}")
    return proc, int(found.group(1))


def stop_proxy(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"bench_proxy: the proxy exited {proc.returncode}: {err.decode()[-500:]}")
    return err.decode()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--window", type=int, default=500, help="unconfirmed messages in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--format", default="jsonl", choices=["jsonl", "human"], help="the proxy's output format"
    )
    args = parser.parse_args()

    direct: list[float] = []
    proxied: list[float] = []
    stderr_tail = ""
    proxy_cpu: list[float] = []
    for round_no in range(1, args.rounds + 1):
        result = ConfirmedPublisher(BROKER[1], args.count, args.size, args.window).run()
        direct.append(result.rate(args.count))
        before = _children_cpu()
        proc, port = start_proxy(args.format)
        try:
            result = ConfirmedPublisher(port, args.count, args.size, args.window).run()
        finally:
            stderr_tail = stop_proxy(proc)
        proxy_cpu.append(_children_cpu() - before)
        proxied.append(result.rate(args.count))
        print(
            f"round {round_no}: direct {direct[-1]:,.0f} msg/s, "
            f"through the proxy {proxied[-1]:,.0f} msg/s",
            flush=True,
        )
    best_direct, best_proxied = max(direct), max(proxied)
    paired = sorted(p / d for p, d in zip(proxied, direct, strict=True))
    print(
        f"\n{args.count:,} messages of {args.size} bytes, confirms, window {args.window}, "
        f"proxy output --format {args.format} > /dev/null"
    )
    print(f"direct to the broker : {best_direct:>10,.0f} msg/s (best of {args.rounds})")
    print(f"through wire proxy   : {best_proxied:>10,.0f} msg/s (best of {args.rounds})")
    print(
        f"ratio proxy/direct   : {best_proxied / best_direct:>10.2f}  (best vs best; target >= 0.70)"
    )
    print(
        f"paired-round ratios  : {', '.join(f'{r:.2f}' for r in paired)} (median {paired[len(paired) // 2]:.2f})"
    )
    cpu = min(proxy_cpu)
    print(
        f"proxy CPU            : {cpu:>10.2f} s user+sys for {args.count:,} messages "
        f"({cpu / args.count * 1e6:.0f} us/message; least of {args.rounds})"
    )
    frames = re.search(r"frames: (\d+)", stderr_tail)  # from the summary printed at Ctrl-C
    skipped = re.search(r"skipped (\d+) bytes", stderr_tail)
    print(f"frames decoded       : {frames.group(1) if frames else '?'} (last round)")
    print(f"proxy output skipped : {skipped.group(1) if skipped else 0} bytes (last round)")


if __name__ == "__main__":
    main()

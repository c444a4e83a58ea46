"""Frame-codec benchmark: mqctl against pika, pamqp and py-amqp on the same synthetic stream.

    .venv/bin/python benchmarks/bench_codec.py [--messages 200000] [--repeat 3] [--only mqctl,pika]

(the build in use: the compiled one after scripts/setup; MQCTL_PURE_PYTHON=1 for pure Python)

The stream is shaped like real traffic: per message pair, Basic.Publish + content header
(content_type, delivery_mode, message_id and a 3-entry headers table) + a 100-byte body, then
Basic.Deliver + the same header + body, then Basic.Ack. ``--messages`` counts publishes plus
deliveries (200,000 -> 700,000 frames).

Every decoder fully decodes each method's arguments and each header's properties:

- mqctl:   ``FrameDecoder`` fed 64 KiB chunks (as a capture reader would), then ``frame.args`` /
           ``frame.properties`` for every method and header frame; splitting is timed.
- pika:    ``pika.frame.decode_frame`` (decodes eagerly) on each frame's bytes.
- pamqp:   ``pamqp.frame.unmarshal`` (eager) on each frame's bytes.
- py-amqp: a frame split like ``amqp.transport.read_frame`` (header, payload bytes, end check),
           then ``amqp.serialization.loads`` with the method's argument format, and
           ``decode_properties_basic`` for headers.

pika and pamqp get the stream already split into one ``bytes`` per frame, outside the timing
(their buffer handling is left out), so those ratios favour the peers. A second mode times splitting
and naming only (``FrameDecoder.frame_names``), beside a bare ``struct`` split loop for scale.
Each figure is the best of ``--repeat`` round-robin runs, in CPU seconds of this process
(``time.process_time``): on a shared machine, time spent waiting for a core is not counted.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

# the checkout this file is in, not whichever one the virtualenv's editable install points at
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mqctl.build import build_name
from mqctl.wire import (
    FrameDecoder,
    HeaderFrame,
    MethodFrame,
    codec_build,
    encode_body,
    encode_header,
    encode_method,
)

CHUNK = 65536


def build_stream(messages: int) -> bytes:
    body = bytes(range(100))
    headers = {"x-trace-id": "4bf92f3577b34da6", "x-retries": 3, "x-tenant": "acme-eu"}

    def header(n: int) -> bytes:
        return encode_header(
            1,
            60,
            len(body),
            {
                "content_type": "application/json",
                "headers": headers,
                "delivery_mode": 2,
                "message_id": f"msg-{n:012d}",
            },
        )

    parts = []
    for n in range(messages // 2):
        parts.append(encode_method(1, "Basic.Publish", exchange="orders", routing_key="eu.orders"))
        parts.append(header(n))
        parts.append(encode_body(1, body))
        parts.append(
            encode_method(
                1,
                "Basic.Deliver",
                consumer_tag="amq.ctag-9Rv3tPHVfhB_hhyF2nHmyA",
                delivery_tag=n + 1,
                redelivered=False,
                exchange="orders",
                routing_key="eu.orders",
            )
        )
        parts.append(header(n))
        parts.append(encode_body(1, body))
        parts.append(encode_method(1, "Basic.Ack", delivery_tag=n + 1))
    return b"".join(parts)


def split(stream: bytes) -> list[bytes]:
    frames = []
    pos = 0
    unpack = struct.Struct(">BHI").unpack_from
    while pos < len(stream):
        _kind, _channel, size = unpack(stream, pos)
        frames.append(stream[pos : pos + size + 8])
        pos += size + 8
    return frames


# --- the decoders under test: each returns the number of frames it decoded ---------------------


def mqctl_full(stream: bytes, _frames: list[bytes]) -> int:
    decoder = FrameDecoder()
    count = 0
    for start in range(0, len(stream), CHUNK):
        decoder.feed(stream[start : start + CHUNK])
        for event in decoder:
            kind = type(event)
            if kind is MethodFrame:
                event.args  # noqa: B018 - the decode is what is measured
            elif kind is HeaderFrame:
                event.properties  # noqa: B018
            count += 1
    return count


def mqctl_names(stream: bytes, _frames: list[bytes]) -> int:
    decoder = FrameDecoder()
    count = 0
    for start in range(0, len(stream), CHUNK):
        decoder.feed(stream[start : start + CHUNK])
        while True:
            count += len(decoder.frame_names())
            event = decoder.next_event()
            if not isinstance(event, MethodFrame | HeaderFrame) and type(event).__name__ not in (
                "BodyFrame",
                "HeartbeatFrame",
            ):
                break
            count += 1
    return count


def bare_split(stream: bytes, _frames: list[bytes]) -> int:
    unpack = struct.Struct(">BHI").unpack_from
    pos = 0
    count = 0
    n = len(stream)
    while pos + 8 <= n:
        _kind, _channel, size = unpack(stream, pos)
        end = pos + 7 + size
        if stream[end] != 0xCE:
            raise ValueError("bad frame end")
        pos = end + 1
        count += 1
    return count


def pika_full(_stream: bytes, frames: list[bytes]) -> int:
    from pika.frame import decode_frame

    for raw in frames:
        consumed, frame = decode_frame(raw)
        if frame is None or consumed != len(raw):
            raise ValueError("pika could not decode a frame")
    return len(frames)


def pamqp_full(_stream: bytes, frames: list[bytes]) -> int:
    from pamqp.frame import unmarshal

    for raw in frames:
        unmarshal(raw)
    return len(frames)


def amqp_full(stream: bytes, _frames: list[bytes]) -> int:
    from amqp.serialization import decode_properties_basic, loads

    # py-amqp's own argument formats (amqp/channel.py): b bit, o octet, B short, L longlong, s str
    formats = {(60, 40): "Bssbb", (60, 60): "sLbss", (60, 80): "Lb"}
    unpack_header = struct.Struct(">BHI").unpack_from
    unpack_ids = struct.Struct(">HH").unpack_from
    # what amqp.transport.read_frame does per frame: header, payload bytes, frame-end check;
    # then what Connection/Channel do with method and header payloads
    count = 0
    pos = 0
    while pos < len(stream):
        kind, _channel, size = unpack_header(stream, pos)
        payload = stream[pos + 7 : pos + 7 + size]
        if stream[pos + 7 + size] != 0xCE:
            raise ValueError("bad frame end")
        pos += size + 8
        if kind == 1:
            loads(formats[unpack_ids(payload, 0)], payload, 4)
        elif kind == 2:
            decode_properties_basic(payload, 12)
        count += 1
    return count


def measure(fn: Callable[[bytes, list[bytes]], int], stream: bytes, frames: list[bytes]) -> float:
    # CPU time of this process: other work on a shared machine does not count against a decoder
    started = time.process_time()
    count = fn(stream, frames)
    elapsed = time.process_time() - started
    if count != len(frames):
        raise SystemExit(f"{fn.__name__} decoded {count} frames, expected {len(frames)}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated subset of the decoders")
    options = parser.parse_args()

    stream = build_stream(options.messages)
    frames = split(stream)
    megabytes = len(stream) / 1e6
    print(
        f"stream: {options.messages} messages, {len(frames)} frames, {megabytes:.1f} MB; "
        f"python {sys.version.split()[0]}; mqctl codec {codec_build()} ({build_name()}); "
        f"best of {options.repeat}; load average {os.getloadavg()[0]:.1f}"
    )
    full = {
        "mqctl": mqctl_full,
        "pika": pika_full,
        "pamqp": pamqp_full,
        "py-amqp": amqp_full,
    }
    names = {"mqctl frame_names": mqctl_names, "bare struct split": bare_split}
    wanted = set(filter(None, options.only.split(",")))
    tables = {"full decode": full, "split + name methods only": names}
    chosen = {
        title: {name: fn for name, fn in table.items() if not wanted or name.split()[0] in wanted}
        for title, table in tables.items()
    }
    # round-robin repeats, so that a busy spell on the machine hits every decoder alike
    best: dict[str, float] = {}
    for _ in range(options.repeat):
        for table in chosen.values():
            for name, fn in table.items():
                elapsed = measure(fn, stream, frames)
                best[name] = min(best.get(name, elapsed), elapsed)
    results = {name: len(frames) / elapsed for name, elapsed in best.items()}
    for title, table in chosen.items():
        print(f"\n{title}:")
        print(f"  {'decoder':<20} {'frames/s':>12} {'MB/s':>8}")
        for name in table:
            rate = results[name]
            print(f"  {name:<20} {rate:>12,.0f} {megabytes * rate / len(frames):>8.1f}")
    if "mqctl" in results:
        compiled = codec_build() == "mypyc"
        targets = {"pika": 3.0, "py-amqp": 2.0} if compiled else {"pika": 2.0}
        print("\nratios (mqctl full decode / peer):")
        for peer in ("pika", "pamqp", "py-amqp"):
            if peer in results:
                target = f"  (target >= {targets[peer]}x)" if peer in targets else ""
                print(f"  vs {peer:<8} {results['mqctl'] / results[peer]:.2f}x{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Make the real captures under tests/data/: real clients talking to the real broker, on loopback.

Run as root from the repository: `.venv/bin/python tests/data/make_captures.py [--node-dir DIR]`.
Needs dumpcap/tshark (Debian's tshark), amqp-tools, node and npm (amqplib is installed into a
temporary directory outside the repository), and RabbitMQ on 127.0.0.1:5672 (guest/guest).

The broker is shared with other users, so every scenario runs with its own random token in its
queue, exchange and connection names; dumpcap records everything on port 5672 and afterwards only
the connections whose client bytes carry the token are kept (tshark -Y on their client ports).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import decimal
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pika
from pika.exceptions import ChannelClosedByBroker, UnroutableError

from mqctl.wire.packets import TCP_SYN, Segment, parse_packet
from mqctl.wire.readers import read_packets
from mqctl.wire.reassembly import Gap, StreamSide

HERE = Path(__file__).resolve().parent
URL = "amqp://guest:guest@127.0.0.1:5672/%2f"


def capture(name: str, fmt: str, scenario: Callable[[str], None]) -> None:
    token = f"mqctl-cap-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.pcapng"
        dumpcap = subprocess.Popen(
            ["dumpcap", "-q", "-i", "lo", "-f", "tcp port 5672", "-w", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
        try:
            scenario(token)
            time.sleep(0.5)
        finally:
            dumpcap.send_signal(signal.SIGINT)
            dumpcap.wait(timeout=10)
        ports = client_ports_carrying(str(raw), token.encode())
        if not ports:
            sys.exit(f"{name}: no connection carried {token}")
        keep = "tcp.port in {" + ",".join(str(p) for p in sorted(ports)) + "}"
        out = HERE / name
        subprocess.run(
            ["tshark", "-r", str(raw), "-F", fmt, "-w", str(out), "-Y", keep],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        print(f"{out.name}: {len(ports)} connection(s), {out.stat().st_size} bytes")


def client_ports_carrying(path: str, token: bytes) -> set[int]:
    """The client ports of the connections whose client-to-server bytes contain `token`."""
    streams: dict[int, tuple[StreamSide, list[bytes | Gap]]] = {}
    for packet in read_packets(path):
        seg = parse_packet(packet.linktype, packet.data, packet.wire_len)
        if not isinstance(seg, Segment) or seg.dport != 5672:
            continue
        side, out = streams.setdefault(seg.sport, (StreamSide(), []))
        side.add(seg.seq, bool(seg.flags & TCP_SYN), seg.payload, seg.missing, out)
    return {
        port
        for port, (_, out) in streams.items()
        if token in b"".join(item for item in out if isinstance(item, bytes))
    }


def every_header_type() -> dict[str, object]:
    """Every field type pika can encode: S x t I l D T F A V (amqplib covers the rest)."""
    return {
        "string": "héllo wörld",
        "bytes": b"\x00\x01binary\xff",
        "true": True,
        "false": False,
        "int32": -123456,
        "int64": 2**40 + 7,
        "decimal": decimal.Decimal("3.14"),
        "negative-decimal": decimal.Decimal("-12.34"),
        "timestamp": dt.datetime(2023, 11, 14, 22, 13, 20),
        "table": {"nested": {"deep": 1}, "list": [1, "two", None]},
        "array": [1, "two", True, [3], {"k": "v"}],
        "void": None,
    }


def pika_session(token: str) -> None:
    """Topology, every property, confirms, a mandatory return, consume with ack/nack/reject,
    transactions, Basic.Get, exchange bind/unbind and a channel error."""
    params = pika.URLParameters(URL)
    params.client_properties = {"connection_name": f"{token}-pika"}
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    exchange, queue = f"{token}.x", f"{token}.q"
    ch.exchange_declare(exchange, "direct")
    ch.exchange_declare(f"{token}.fan", "fanout")
    ch.exchange_bind(f"{token}.fan", exchange, routing_key="copy")
    ch.exchange_unbind(f"{token}.fan", exchange, routing_key="copy")
    ch.queue_declare(queue, arguments={"x-message-ttl": 60000, "x-max-length": 100})
    ch.queue_bind(queue, exchange, routing_key="order.created")
    ch.basic_qos(prefetch_count=10)
    ch.confirm_delivery()
    props = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers=every_header_type(),
        delivery_mode=2,
        priority=5,
        correlation_id="corr-42",
        reply_to="orders.replies",
        expiration="60000",
        message_id="msg-0001",
        timestamp=1700000000,
        type="order.created",
        user_id="guest",
        app_id="mqctl-capture",
        cluster_id="cluster-a",
    )
    body = json.dumps({"order": 1, "items": ["apple", "pear"], "total": "9.90"}).encode()
    ch.basic_publish(exchange, "order.created", body, props, mandatory=True)
    for text in (b"second: nack me", b"third: reject me"):
        plain = pika.BasicProperties(content_type="text/plain")
        ch.basic_publish(exchange, "order.created", text, plain)
    with contextlib.suppress(UnroutableError):
        ch.basic_publish(exchange, "nowhere", b"unroutable", mandatory=True)

    seen: list[bytes] = []

    def on_message(chan: object, method: object, _props: object, body: bytes) -> None:
        seen.append(body)
        tag = method.delivery_tag  # type: ignore[attr-defined]
        if body.startswith(b"second"):
            ch.basic_nack(tag, requeue=False)
        elif body.startswith(b"third"):
            ch.basic_reject(tag, requeue=False)
        else:
            ch.basic_ack(tag)

    tag = ch.basic_consume(queue, on_message)
    deadline = time.time() + 5
    while len(seen) < 3 and time.time() < deadline:
        conn.process_data_events(time_limit=0.2)
    ch.basic_cancel(tag)

    tx = conn.channel()
    tx.tx_select()
    tx.basic_publish("", queue, b"committed")
    tx.tx_commit()
    tx.basic_publish("", queue, b"rolled back")
    tx.tx_rollback()
    ch.basic_get(queue, auto_ack=True)
    ch.basic_get(queue, auto_ack=True)  # now empty: Basic.GetEmpty
    tx.close()

    bad = conn.channel()
    with contextlib.suppress(ChannelClosedByBroker):
        bad.queue_declare(f"{token}.missing", passive=True)
    ch.queue_delete(queue)
    ch.exchange_delete(f"{token}.fan")
    ch.exchange_delete(exchange)
    conn.close()


def pika_heartbeats(token: str) -> None:
    """Heartbeats every second, and a 20 kB message split into body frames by frame_max=4096."""
    params = pika.URLParameters(URL + "?heartbeat=1&frame_max=4096")
    params.client_properties = {"connection_name": f"{token}-heartbeat"}
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    queue = f"{token}.big"
    ch.queue_declare(queue, auto_delete=True)
    big = bytes(range(256)) * 80
    ch.basic_publish("", queue, big, pika.BasicProperties(content_type="application/octet-stream"))
    conn.sleep(3.5)
    ch.basic_get(queue, auto_ack=True)
    ch.queue_delete(queue)
    conn.close()


def amqp_tools(token: str) -> None:
    """Debian's rabbitmq-c command-line clients."""
    queue = f"{token}.tools"
    url = ["--url", "amqp://guest:guest@127.0.0.1:5672"]
    run = subprocess.run
    run(["amqp-declare-queue", *url, "-q", queue], check=True, stdout=subprocess.DEVNULL)
    for i in range(2):
        run(
            ["amqp-publish", *url, "-r", queue, "-p", "-C", "text/plain", "-b", f"hello {i}"],
            check=True,
        )
    run(
        ["amqp-consume", *url, "-q", queue, "-c", "2", "cat"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=20,
    )
    run(["amqp-delete-queue", *url, "-q", queue], check=True, stdout=subprocess.DEVNULL)


NODE_SCRIPT = r"""
const amqp = require('amqplib');
(async () => {
  const token = process.argv[2];
  const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672',
                                  {clientProperties: {connection_name: token + '-amqplib'}});
  const ch = await conn.createConfirmChannel();
  const q = token + '.node';
  await ch.assertQueue(q, {autoDelete: false});
  const headers = {
    int8: {'!': 'int8', value: -8}, uint8: {'!': 'uint8', value: 200},
    int16: {'!': 'int16', value: -1600}, uint16: {'!': 'uint16', value: 60000},
    int32: {'!': 'int32', value: -320000}, uint32: {'!': 'uint32', value: 4000000000},
    int64: {'!': 'int64', value: 1234567890123}, float: {'!': 'float', value: 1.5},
    double: {'!': 'double', value: 2.25},
    decimal: {'!': 'decimal', value: {places: 2, digits: 314}},
    timestamp: {'!': 'timestamp', value: 1700000000}, text: 'node',
    bool: true, nested: {a: [1, 'b']},
  };
  ch.sendToQueue(q, Buffer.from('{"from":"node"}'),
                 {contentType: 'application/json', headers, messageId: 'node-1', persistent: true});
  await ch.waitForConfirms();
  let consumerTag;
  await new Promise((resolve) => {
    ch.consume(q, (msg) => { if (msg) { ch.ack(msg); resolve(); } })
      .then((ok) => { consumerTag = ok.consumerTag; });
  });
  await ch.cancel(consumerTag);
  await ch.deleteQueue(q);
  await ch.close();
  await conn.close();
})().catch((err) => { console.error(err); process.exit(1); });
"""


def node_amqplib(node_dir: Path) -> Callable[[str], None]:
    def scenario(token: str) -> None:
        script = node_dir / "capture.js"
        script.write_text(NODE_SCRIPT)
        subprocess.run(["node", str(script), token], check=True, cwd=node_dir, timeout=30)

    return scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--node-dir", help="a directory with amqplib installed (else: temporary)")
    parser.add_argument("--only", action="append", choices=["pika", "tools", "node"])
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: dumpcap captures on the loopback interface")
    only = set(args.only or [])
    if not only or "pika" in only:
        capture("pika_session.pcapng", "pcapng", pika_session)
        capture("pika_heartbeats.pcap", "pcap", pika_heartbeats)
    if not only or "tools" in only:
        capture("amqp_tools.pcap", "pcap", amqp_tools)
    if only and "node" not in only:
        return
    if args.node_dir:
        capture("amqplib.pcapng", "pcapng", node_amqplib(Path(args.node_dir)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "init", "-y"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["npm", "install", "amqplib@0.10"], cwd=tmp, check=True)
        capture("amqplib.pcapng", "pcapng", node_amqplib(Path(tmp)))
        shutil.rmtree(Path(tmp) / "node_modules", ignore_errors=True)


if __name__ == "__main__":
    main()

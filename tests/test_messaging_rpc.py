"""`mqctl rpc` against a small responder thread on the real broker."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.conftest import AMQP_URL
from tests.messaging_support import mqctl, queue
from tests.run import run_process

__all__ = ["queue"]  # a fixture

pytestmark = pytest.mark.broker


@pytest.fixture
def responder(queue: str) -> Iterator[list[Any]]:
    """Answers each request on `queue` with its body upper-cased; records what it saw."""
    seen: list[Any] = []
    ready = threading.Event()
    stop = threading.Event()

    def serve() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        channel = connection.channel()

        def on_request(ch: Any, method: Any, props: Any, body: bytes) -> None:
            seen.append(props)
            ch.basic_publish(
                "",
                props.reply_to,
                body.upper(),
                pika.BasicProperties(
                    correlation_id=props.correlation_id,
                    content_type="text/plain",
                    headers={"served-by": "test"},
                ),
            )
            ch.basic_ack(method.delivery_tag)

        channel.basic_consume(queue, on_request)
        ready.set()
        while not stop.is_set():
            connection.process_data_events(time_limit=0.1)
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield seen
    stop.set()
    thread.join(10)


def test_rpc_round_trip(clean_env: Path, queue: str, responder: list[Any]) -> None:
    status, out, err = mqctl(
        "rpc", "-k", queue, "--body", "ping", "--priority", "4", "-H", "n:int16=2",
        "--correlation-id", "corr-7", "--timeout", "10", "--format", "jsonl",
    )  # fmt: skip
    assert (status, err) == (0, "")
    reply = json.loads(out)
    assert reply["body"] == "PING"
    assert reply["routing_key"] == "amq.rabbitmq.reply-to" or reply["routing_key"].startswith(
        "amq.rabbitmq.reply-to"
    )
    assert reply["properties"] == {
        "content_type": "text/plain",
        "headers": {"served-by": "test"},
        "correlation_id": "corr-7",
    }
    (request,) = responder
    assert request.reply_to.startswith("amq.rabbitmq.reply-to")
    assert (request.priority, request.correlation_id, request.headers) == (4, "corr-7", {"n": 2})


def test_rpc_generates_a_correlation_id(clean_env: Path, queue: str, responder: list[Any]) -> None:
    status, out, _ = mqctl("rpc", "-k", queue, "--body", "x", "--body-only")
    assert (status, out) == (0, "X\n")
    assert len(responder[0].correlation_id) == 32


def test_rpc_timeout(clean_env: Path, queue: str) -> None:
    status, out, err = mqctl(
        "rpc", "-k", queue, "--body", "x", "--timeout", "0.3", "--correlation-id", "c-1"
    )
    assert (status, out) == (1, "")
    assert err == (
        "mqctl: error: no reply within 0.3s (correlation id c-1); is the server running? "
        "raise --timeout if it is slow\n"
    )


def test_rpc_unroutable_fails_at_once(clean_env: Path, unique: str) -> None:
    status, _, err = mqctl("rpc", "-k", unique, "--body", "x", "--timeout", "30")
    assert status == 1
    assert err == (
        f"mqctl: error: the request was returned unroutable (312 NO_ROUTE) by exchange '' with "
        f"routing key '{unique}'; check that a server's queue is bound there\n"
    )


def test_rpc_bad_input(clean_env: Path, queue: str) -> None:
    status, _, err = mqctl("rpc", "-k", queue, "--body", "x", "--reply-to", "mine")
    assert (status, err) == (
        4,
        "mqctl: error: --reply-to cannot be set for rpc: the reply comes back through direct "
        "reply-to; drop --reply-to (mqctl publish --reply-to sends a request without waiting)\n",
    )
    status, _, err = mqctl("rpc", "-k", queue, "--body", "x", "--priority", "999")
    assert (status, err) == (
        4,
        "mqctl: error: --priority: priority 999 is out of range; use 0..255\n",
    )


def test_rpc_into_a_closed_pipe_says_the_reply_is_lost(
    clean_env: Path, queue: str, responder: list[Any]
) -> None:
    """`mqctl rpc ... | (exec 0<&-)`: the reader is gone before the reply comes; exit 1 with one
    line saying the reply is lost, never 'internal error: OutputFailed'."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        done = run_process(
            "rpc", "-k", queue, "--body", "ping", "--timeout", "10", stdout=write_end, timeout=60
        )
    finally:
        os.close(write_end)
    assert (done.status, done.err) == (
        1,
        "mqctl: error: the reply arrived but writing it failed (Broken pipe); direct reply-to "
        "keeps no copy of it; free the output (disk space, the reading end) and send the request "
        "again\n",
    )
    assert len(responder) == 1  # the request did go out; only its reply had nowhere to go

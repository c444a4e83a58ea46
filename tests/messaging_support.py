"""Helpers for the messaging tests: run the CLI in-process, and look at queues with plain pika."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import pika
import pika.spec
import pytest

from tests.conftest import AMQP_URL
from tests.run import Run, run_in_process, start_process


def mqctl(*args: str, stdin: str | bytes | None = None) -> Run:
    """Run `mqctl ARGS --url <test broker>` in this process."""
    return run_in_process(*args, "--url", AMQP_URL, stdin=stdin)


def mqctl_process(
    *args: str,
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """`python -m mqctl ARGS --url <test broker>` as a child process, left running."""
    return start_process(*args, "--url", AMQP_URL, stdin=stdin, stdout=stdout, stderr=stderr)


@contextmanager
def channel() -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def declare(name: str, **arguments: Any) -> None:
    with channel() as ch:
        ch.queue_declare(name, arguments=arguments or None)


def delete(name: str) -> None:
    with channel() as ch:
        ch.queue_delete(name)


def depth(name: str) -> int:
    with channel() as ch:
        return int(ch.queue_declare(name, passive=True).method.message_count)


def publish_plain(queue: str, bodies: list[bytes], **props: Any) -> None:
    with channel() as ch:
        ch.confirm_delivery()
        for body in bodies:
            ch.basic_publish("", queue, body, pika.BasicProperties(**props))


class CapturingProperties(pika.spec.BasicProperties):  # type: ignore[misc]
    """pika's own properties decoder, keeping the raw bytes it decoded."""

    raw = b""

    def decode(self, encoded: bytes, offset: int = 0) -> Any:
        self.raw = bytes(encoded[offset:])
        return super().decode(encoded, offset)


def get_with_pika(queue: str) -> tuple[Any, Any, bytes]:
    """basic.get with pika's own properties decoder (mqctl installs its codec process-wide)."""
    index = pika.spec.BasicProperties.INDEX
    installed = pika.spec.props[index]
    pika.spec.props[index] = CapturingProperties
    try:
        with channel() as ch:
            method, props, body = ch.basic_get(queue, auto_ack=True)
    finally:
        pika.spec.props[index] = installed
    assert method is not None, f"queue {queue} is empty"
    return method, props, body


@pytest.fixture
def queue(broker: str, unique: str) -> Iterator[str]:
    declare(unique)
    yield unique
    delete(unique)


def reconnected_summary(last_line: str, total: int) -> tuple[int, int]:
    """(reconnections, messages sent again) from the last line of a publish of `total` messages
    that reconnected and got every one confirmed; the rest of the line checked exactly."""
    match = re.fullmatch(
        rf"sent {total}, confirmed {total}, returned 0, nacked 0, reconnected (\d+)"
        r"(?:, republished (\d+) \(may be duplicates\))?",
        last_line,
    )
    assert match, last_line
    return int(match[1]), int(match[2] or 0)

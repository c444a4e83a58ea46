"""Helpers for the messaging tests: run the CLI in-process, and look at queues with plain pika."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pika.spec
import pytest

from mqctl.cli import main
from tests.conftest import AMQP_URL, ROOT


def mqctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `mqctl ARGS --url <test broker>` in this process; (status, stdout, stderr)."""
    capsys.readouterr()
    status = main([*args, "--url", AMQP_URL])
    out, err = capsys.readouterr()
    return status, out, err


def mqctl_process(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """`python -m mqctl ARGS --url <test broker>` as a child process."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "mqctl", *args, "--url", AMQP_URL], cwd=ROOT, env=env, **kwargs
    )


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

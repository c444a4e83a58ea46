"""Looks that change nothing: on a quorum queue with a delivery limit, `--requeue` and
`move --dry-run` stop before taking anything (each return would count as a delivery)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.messaging_support import channel, mqctl

pytestmark = pytest.mark.broker


@pytest.fixture
def limited(broker: str, unique: str) -> Iterator[str]:
    with channel() as ch:
        ch.queue_declare(
            unique, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 2}
        )
        ch.confirm_delivery()
        ch.basic_publish("", unique, b"precious")
    yield unique
    with channel() as ch:
        ch.queue_delete(unique)


LOOKS = [
    ("get", "-q", "{q}", "--requeue"),
    ("consume", "-q", "{q}", "--requeue", "-n", "1", "-t", "2"),
    ("move", "{q}", "--to-queue", "elsewhere", "--dry-run"),
]


def test_five_looks_at_a_quorum_queue_with_delivery_limit_2(clean_env: Path, limited: str) -> None:
    for _ in range(5):
        for look in LOOKS:
            args = [arg.format(q=limited) for arg in look]
            status, out, err = mqctl(*args)
            assert (status, out) == (1, ""), err
            assert err.startswith(
                f"mqctl: error: mqctl {look[0]} "
                + ("--dry-run" if look[0] == "move" else "--requeue")
                + f" would count against the delivery limit of queue '{limited}': it is a quorum "
                "queue with delivery limit 2"
            ), err
    # The message is still there and was never delivered: no delivery count at all.
    with channel() as ch:
        method, props, body = ch.basic_get(limited, auto_ack=True)
    assert body == b"precious"
    assert not method.redelivered
    assert (props.headers or {}).get("x-delivery-count", 0) == 0


def test_a_look_at_a_classic_queue_is_free(clean_env: Path, unique: str) -> None:
    with channel() as ch:
        ch.queue_declare(unique)
        ch.confirm_delivery()
        ch.basic_publish("", unique, b"m")
    try:
        for _ in range(5):
            status, out, _err = mqctl("get", "-q", unique, "--requeue", "--body-only")
            assert (status, out) == (0, "m\n")
    finally:
        with channel() as ch:
            ch.queue_delete(unique)

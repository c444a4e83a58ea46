"""What `publish` says about what it does (issue 19, "Output that misleads")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import AMQP_URL
from tests.messaging_support import channel, declare, delete, mqctl
from tests.run import start_process

pytestmark = pytest.mark.broker


def test_without_a_body_option_on_a_terminal_it_says_it_reads_stdin(
    broker: str, clean_env: Path, unique: str
) -> None:
    declare(unique)
    controller, terminal = os.openpty()
    try:
        proc = start_process("publish", "-k", unique, "--url", AMQP_URL, stdin=terminal)
        os.close(terminal)
        assert proc.stderr is not None
        # The notice comes before anything is read: the user knows what the wait is for.
        assert (
            proc.stderr.readline() == b"reading the body from standard input (end it with Ctrl-D)\n"
        )
        os.write(controller, b"typed body\n\x04")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(controller)
    try:
        assert (proc.returncode, out, err) == (
            0,
            b"sent 1, confirmed 1, returned 0, nacked 0\n",
            b"",
        )
        with channel() as ch:
            method, _props, body = ch.basic_get(unique, auto_ack=True)
        assert method is not None and body == b"typed body\n"
    finally:
        delete(unique)


def test_routed_nowhere_is_returned_by_default(clean_env: Path, unique: str) -> None:
    status, out, err = mqctl("publish", "-k", unique, "--body", "x")
    assert (status, out, err) == (
        1,
        "sent 1, confirmed 1, returned 1 (312 NO_ROUTE: 1), nacked 0\n",
        "mqctl: error: 1 returned as unroutable of 1 messages; check the exchange, routing key "
        "and bindings (returns) or the queue's limits (nacks)\n",
    )


def test_no_mandatory_does_not_claim_a_count_of_returns(clean_env: Path, unique: str) -> None:
    status, out, err = mqctl("publish", "-k", unique, "--body", "x", "--no-mandatory")
    assert (status, out, err) == (
        0,
        "sent 1, confirmed 1, returned - (--no-mandatory: unroutable ones are dropped), nacked 0\n",
        "",
    )

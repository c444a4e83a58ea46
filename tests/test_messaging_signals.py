"""SIGTERM (and Ctrl-C) on consume, get, rpc and move: the same kind of summary line on stderr,
exit 130, and nothing lost."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.messaging_support import declare, delete, depth, mqctl_process, queue
from tests.test_messaging_consume import wait_for_consumer
from tests.test_messaging_move import bodies, fill

__all__ = ["queue"]  # a fixture

pytestmark = pytest.mark.broker


def stop(proc: subprocess.Popen[bytes], signum: int) -> str:
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    return err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_consume_into_an_unread_pipe(clean_env: Path, queue: str, signum: signal.Signals) -> None:
    fill(queue, [b"m%d" % i for i in range(10)])
    proc = mqctl_process("consume", "-q", queue, "--body-only", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)  # fmt: skip
    wait_for_consumer(queue)
    time.sleep(0.3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    match = re.fullmatch(
        rf"mqctl: error: interrupted \({name}\): (\d) message\(s\) written, \d+ put back in "
        r"the queue\n",
        err.decode(),
    )
    assert match, err
    # m0 sat unread in the pipe at the signal; the reader may have taken it just before.
    written = int(match[1])
    assert written <= 1
    assert out == b"m0\n"
    assert depth(queue) == 10 - written


def test_get_into_an_unread_pipe(clean_env: Path, queue: str) -> None:
    fill(queue, [b"x" * 30000 for _ in range(10)])  # the second does not fit the pipe
    proc = mqctl_process("get", "-q", queue, "-n", "10", "--body-only", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 10
    while depth(queue) == 10 and time.monotonic() < deadline:
        time.sleep(0.05)  # the first get is out (unacked)
    time.sleep(0.3)
    err = stop(proc, signal.SIGTERM)
    assert re.fullmatch(
        r"mqctl: error: interrupted \(SIGTERM\): \d+ message\(s\) written, \d+ put back in the "
        r"queue\n",
        err,
    ), err


def test_rpc_waiting_for_a_reply(clean_env: Path, queue: str) -> None:
    proc = mqctl_process("rpc", "-k", queue, "--body", "x", "--timeout", "30",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 10
    while depth(queue) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    err = stop(proc, signal.SIGTERM)
    assert re.fullmatch(
        r"mqctl: error: interrupted \(SIGTERM\): the request was sent, no reply yet "
        r"\(correlation id \w+\)\n",
        err,
    ), err


def test_move_stopped_by_sigterm(clean_env: Path, unique: str) -> None:
    source, target = f"{unique}-src", f"{unique}-dst"
    declare(source)
    declare(target)
    try:
        total = 20000
        fill(source, [b"%d" % i for i in range(total)])
        proc = mqctl_process("move", source, "--to-queue", target, "--prefetch", "50",
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 20
        while depth(target) < 500 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        match = re.fullmatch(
            rb"moved (\d+) of 20000; left in '\S+': not reached (\d+)\n", out.splitlines(True)[-1]
        )
        assert match, out
        moved = int(match[1])
        assert err.decode() == (
            f"mqctl: error: interrupted (SIGTERM): {out.decode().splitlines()[-1]}\n"
        )
        in_source, in_target = bodies(source), bodies(target)
        assert len(in_target) == moved
        assert sorted(in_source + in_target, key=int) == [b"%d" % i for i in range(total)]
    finally:
        delete(source)
        delete(target)

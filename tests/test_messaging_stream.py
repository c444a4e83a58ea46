"""`publish --input` streams, and the replay pipeline `consume | publish --input -` loses nothing
when the publisher fails before it read anything."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import AMQP_URL, ROOT
from tests.messaging_support import declare, delete, depth, mqctl_process, queue
from tests.test_messaging_consume import proc_env
from tests.test_messaging_move import bodies, fill

__all__ = ["queue"]  # a fixture

pytestmark = pytest.mark.broker


def line(body: str) -> bytes:
    return (json.dumps({"exchange": "", "routing_key": "", "body": body}) + "\n").encode()


def test_input_from_a_slow_pipe_is_published_as_it_arrives(clean_env: Path, queue: str) -> None:
    proc = mqctl_process(
        "publish", "--input", "-", "-k", queue,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    for i in range(5):
        proc.stdin.write(line(f"m{i}"))
        proc.stdin.flush()
    deadline = time.monotonic() + 15
    while depth(queue) < 5:
        assert time.monotonic() < deadline, "nothing published while stdin is still open"
        time.sleep(0.05)
    assert proc.poll() is None  # still running: stdin is open
    out, err = proc.communicate(b"".join(line(f"m{i}") for i in range(5, 8)), timeout=20)
    assert (proc.returncode, err) == (0, b"")
    assert out == b"sent 8, confirmed 8, returned 0, nacked 0\n"
    assert bodies(queue) == [b"m%d" % i for i in range(8)]


def test_unknown_exchange_is_found_before_reading(clean_env: Path, queue: str, unique: str) -> None:
    proc = mqctl_process(
        "publish", "--input", "-", "-e", f"{unique}-missing",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _out, err = proc.communicate(line("never read"), timeout=20)
    assert proc.returncode == 1
    assert err.decode().startswith(
        f"mqctl: error: checking exchange '{unique}-missing' failed: 404 NOT_FOUND"
    )
    assert "(0 line(s) read, 0 sent, 0 confirmed)" in err.decode()


def pipeline(source: str, publish_args: str) -> subprocess.CompletedProcess[bytes]:
    mqctl = f"{sys.executable} -m mqctl"
    return subprocess.run(
        f"set -o pipefail; {mqctl} consume -q {source} --timeout 3 --format jsonl --url {AMQP_URL}"
        f" | {mqctl} publish --input - {publish_args} --url {AMQP_URL}",
        shell=True, executable="/bin/bash", capture_output=True, env=proc_env(), cwd=ROOT,
        timeout=120,
    )  # fmt: skip


def test_replay_pipeline_to_a_missing_exchange_keeps_the_source(
    clean_env: Path, queue: str, unique: str
) -> None:
    fill(queue, [b"m%d" % i for i in range(50)])
    done = pipeline(queue, f"-e {unique}-missing")
    assert done.returncode == 1
    assert "404 NOT_FOUND" in done.stderr.decode()
    assert depth(queue) == 50  # consume put back what publish never read


def test_replay_pipeline_wrong_password_keeps_the_source(clean_env: Path, queue: str) -> None:
    fill(queue, [b"m%d" % i for i in range(20)])
    mqctl = f"{sys.executable} -m mqctl"
    bad = AMQP_URL.replace("guest:guest@", "guest:wrong@")
    done = subprocess.run(
        f"{mqctl} consume -q {queue} --timeout 3 --format jsonl --url {AMQP_URL}"
        f" | {mqctl} publish --input - -k x --url {bad}",
        shell=True, executable="/bin/bash", capture_output=True, env=proc_env(), cwd=ROOT,
        timeout=120,
    )  # fmt: skip
    assert "authentication refused" in done.stderr.decode()
    assert depth(queue) == 20


def test_replay_pipeline_moves_everything(clean_env: Path, queue: str, unique: str) -> None:
    target = f"{unique}-target"
    declare(target)
    try:
        sent = [b"m%d" % i for i in range(50)]
        fill(queue, sent)
        done = pipeline(queue, f"-k {target}")
        assert done.returncode == 0, done.stderr
        assert bodies(target) == sent
        assert depth(queue) == 0
    finally:
        delete(target)


def test_deeply_nested_header_is_bad_input(clean_env: Path, queue: str, tmp_path: Path) -> None:
    text = '{"body": "x", "properties": {"headers": {"deep": ' + "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.jsonl").write_text(text + "}}}\n")
    proc = mqctl_process(
        "publish", "--input", str(tmp_path / "deep.jsonl"), "-k", queue,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4, err
    assert err.decode().startswith(f"mqctl: error: {tmp_path / 'deep.jsonl'}:1: nested too deeply")
    assert depth(queue) == 0

"""Output that is really written: `consume`, `get` and `rpc` into a full disk (a tiny tmpfs).

A message counts as written only when its whole line reached the file; the one cut short and
every later one stay in the queue, and stderr's counts are the truth."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.messaging_support import mqctl_process, queue
from tests.test_messaging_move import bodies, fill
from tests.test_messaging_rpc import responder

__all__ = ["queue", "responder"]  # fixtures

pytestmark = pytest.mark.broker


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs: the full disk."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (the tests run as root): {done.stderr.decode()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def payloads(n: int) -> list[bytes]:
    return [f"{i:04d}-{uuid.uuid4().hex}".encode() + b"x" * 150 for i in range(n)]


def counts(err: str) -> tuple[int, int]:
    match = re.search(r"(\d+) message\(s\) written(?:, (\d+) put back in the queue)?", err)
    assert match, err
    return int(match[1]), int(match[2] or 0)


@pytest.mark.parametrize("command", ["consume", "get"])
def test_full_disk_acks_only_whole_lines(
    clean_env: Path, queue: str, full_disk: Path, command: str
) -> None:
    sent = payloads(200)  # ~60 KB of jsonl: about a quarter fits
    fill(queue, sent)
    target = full_disk / "out.jsonl"
    args = ["-q", queue, "--format", "jsonl"]
    args += ["-n", "200"] if command == "get" else ["--timeout", "3"]
    with target.open("wb") as out:
        process = mqctl_process(command, *args, stdout=out, stderr=subprocess.PIPE)
        _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 1, err
    assert "No space left on device" in err
    written, _put_back = counts(err)
    data = target.read_bytes()
    assert data.endswith(b"\n"), "a partial line was left in the file"
    in_file = [json.loads(line)["body"].encode() for line in data.splitlines()]
    assert len(in_file) == written > 0
    in_queue = bodies(queue)
    # Nothing lost: each message is in the file or back in the queue; acked ones only in the file.
    assert sorted(in_file + in_queue) == sorted(sent)
    assert not set(in_file) & set(in_queue)


def test_rpc_reply_that_cannot_be_written_is_said(
    clean_env: Path, queue: str, responder: list[Any], full_disk: Path
) -> None:
    (full_disk / "filler").write_bytes(b"\0" * 12288)
    target = full_disk / "reply.json"
    with target.open("wb") as out:
        process = mqctl_process(
            "rpc", "-k", queue, "--body", "x" * 8000, "--timeout", "10", stdout=out,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.decode() == (
        "mqctl: error: the reply arrived but writing it failed (No space left on device); "
        "direct reply-to keeps no copy of it; free the output (disk space, the reading end) "
        "and send the request again\n"
    )
    assert target.read_bytes() == b""  # no partial reply either

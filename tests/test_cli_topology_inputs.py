"""Topology files from anywhere a shell can give them (issue 19): `-` for stdin, /dev/null, a named
pipe, process substitution; and `validate` reporting every problem of a queue at once."""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from pathlib import Path

import pytest

from tests.run import ROOT, Run, command, process_env, run_in_process

ONE_QUEUE = "vhost: /\nqueues:\n  - name: mqctl-test-inputs-q\n"


def validate(*paths: str, stdin: str | None = None) -> Run:
    return run_in_process("topology", "validate", *paths, stdin=stdin)


def test_dash_is_stdin(clean_env: Path) -> None:
    assert validate("-", stdin=ONE_QUEUE) == (0, "", "valid: 1 objects (1 queues)\n")


def test_problems_in_stdin_are_located_there(clean_env: Path) -> None:
    text = "vhost: /\nqueues:\n  - name: q\n    type: weird\n"
    assert validate("-", stdin=text) == (
        4,
        "",
        "mqctl: error: the topology is invalid (1 problem); nothing was applied\n"
        "<stdin>:4:11: unknown queue type 'weird' (allowed: classic, quorum, stream)\n",
    )


def test_dev_null_is_an_empty_topology(clean_env: Path) -> None:
    assert validate("/dev/null") == (0, "", "valid: 0 objects (none)\n")


def test_a_named_pipe(clean_env: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "topology.yaml"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as pipe:
            pipe.write(ONE_QUEUE)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert validate(str(fifo)) == (0, "", "valid: 1 objects (1 queues)\n")
    writer.join(10)


def test_a_missing_file_is_still_named(clean_env: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert validate(str(missing)) == (
        4,
        "",
        "mqctl: error: the topology is invalid (1 problem); nothing was applied\n"
        f"{missing}: no such file or directory\n",
    )


@pytest.mark.broker
def test_plan_from_process_substitution(clean_env: Path, broker: str, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("vhost: /\nqueues:\n  - name: ${QUEUE}\n", encoding="utf-8")
    plan = shlex.join(command("topology", "plan", "--url", broker))
    result = subprocess.run(
        ["bash", "-c", f"{plan} <(envsubst < {shlex.quote(str(template))})"],
        capture_output=True,
        text=True,
        env=process_env({"QUEUE": "mqctl-test-inputs-substituted"}),
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr  # pending changes
    assert "+ create    queue 'mqctl-test-inputs-substituted' in vhost '/'" in result.stdout


def test_every_problem_of_a_queue_at_once(clean_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "vhost: /\nqueues:\n"
        "  - name: a\n    type: weird\n    durable: maybe\n"
        "    arguments: {x-max-length: -5, x-message-ttl: abc, x-overflow: nope}\n"
        "  - name: b\n    type: quorum\n    durable: false\n    auto_delete: true\n"
        "    max_priority: 5\n    message_ttl: -1\n    overflow: reject-publish-dlx\n"
        "    expires: 0\n    delivery_limit: -2\n",
        encoding="utf-8",
    )
    status, out, err = validate(str(path))
    assert (status, out) == (4, "")
    assert err.splitlines() == [
        "mqctl: error: the topology is invalid (12 problems); nothing was applied",
        f"{path}:4:11: unknown queue type 'weird' (allowed: classic, quorum, stream)",
        f"{path}:5:14: durable must be true or false, not 'maybe' (allowed: true, false)",
        f"{path}:6:31: max_length (x-max-length) is -5 (allowed: a whole number from 0 up)",
        f"{path}:6:50: message_ttl (x-message-ttl) is 'abc' (allowed: a whole number from 0 up)",
        f"{path}:6:67: overflow (x-overflow) is 'nope' (allowed: drop-head, reject-publish, "
        "reject-publish-dlx)",
        f"{path}:9:14: a quorum queue must be durable (allowed: durable: true)",
        f"{path}:10:18: a quorum queue cannot be auto-delete (allowed: auto_delete: false)",
        f"{path}:11:19: max_priority (x-max-priority) does not apply to a quorum queue "
        "(allowed: classic queues)",
        f"{path}:12:18: message_ttl (x-message-ttl) is -1 (allowed: a whole number from 0 up)",
        f"{path}:13:15: quorum queues do not support reject-publish-dlx (allowed: drop-head, "
        "reject-publish)",
        f"{path}:14:14: expires (x-expires) is 0 (allowed: a whole number from 1 up)",
        f"{path}:15:21: delivery_limit (x-delivery-limit) is -2 (allowed: a whole number from 0 "
        "up)",
    ]

"""Version-aware checks: `validate --target VERSION` offline, and plan/apply against the live
broker's version (before anything changes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mqctl.topology.loader import Problem
from mqctl.topology.validate import read_topology
from mqctl.topology.versions import parse_version
from tests.topology_helpers import Cli, definitions, write

LEGACY = """\
vhost: v
queues:
  - name: lazy
    queue_mode: lazy
  - name: old
    arguments: {x-queue-version: 1, x-queue-master-locator: min-masters}
policies:
  - name: mirror
    pattern: ^mirrored\\.
    definition: {ha-mode: all, ha-sync-mode: automatic}
"""


def problems(tmp_path: Path, text: str, target: str) -> tuple[list[str], list[str]]:
    path = write(tmp_path / "t.yaml", text)
    warnings: list[Problem] = []
    _, errors = read_topology([path], {}, target=parse_version(target), warnings=warnings)
    shown = [str(p).replace(str(path), "t.yaml") for p in errors]
    return shown, [str(w).replace(str(path), "t.yaml") for w in warnings]


def test_what_4_3_removed_or_refuses_is_an_error_at_its_key(tmp_path: Path) -> None:
    errors, warnings = problems(tmp_path, LEGACY, "4.3")
    assert errors == [
        "t.yaml:4:17: queue_mode (x-queue-mode) (lazy classic queues) is removed or refused from "
        "RabbitMQ 4.0 (target 4.3); instead: nothing: classic queues keep messages on disk by "
        "themselves since 3.12; drop the key",
        "t.yaml:6:34: classic queue version 1 (x-queue-version: 1) is removed or refused from "
        "RabbitMQ 4.0 (target 4.3); instead: version 2 (drop the key, or set it to 2)",
        "t.yaml:6:61: the x-queue-master-locator argument is removed or refused from RabbitMQ 4.3 "
        "(target 4.3); instead: queue-leader-locator (x-queue-leader-locator) with client-local "
        "or balanced",
        "t.yaml:10:17: classic queue mirroring (the ha-mode policy key) is removed or refused from "
        "RabbitMQ 4.0 (target 4.3); instead: quorum queues (type: quorum) or streams; drop the "
        "ha-* keys",
        "t.yaml:10:17: classic queue mirroring (the ha-sync-mode policy key) is removed or refused "
        "from RabbitMQ 4.0 (target 4.3); instead: quorum queues (type: quorum) or streams; drop "
        "the ha-* keys",
    ]
    assert warnings == []


def test_deprecated_on_the_target_is_a_warning_and_older_targets_are_fine(
    tmp_path: Path,
) -> None:
    errors, warnings = problems(tmp_path, LEGACY, "3.13")
    assert errors == []
    assert [w.split(" is deprecated")[0] for w in warnings] == [
        "t.yaml:4:17: queue_mode (x-queue-mode) (lazy classic queues)",
        "t.yaml:6:34: classic queue version 1 (x-queue-version: 1)",
        "t.yaml:10:17: classic queue mirroring (the ha-mode policy key)",
        "t.yaml:10:17: classic queue mirroring (the ha-sync-mode policy key)",
    ]
    assert problems(tmp_path, LEGACY, "3.8") == ([], [])


def test_transient_queue_warned_on_4x_and_x_local_random_needs_4_0(tmp_path: Path) -> None:
    text = (
        "vhost: v\nexchanges: [{name: pick, type: x-local-random}]\n"
        "queues: [{name: scratch, durable: false}]\n"
    )
    errors, warnings = problems(tmp_path, text, "4.3.6")
    assert errors == []
    assert warnings == [
        "t.yaml:3:35: a transient (durable: false) queue that is not exclusive is deprecated from "
        "RabbitMQ 4.0 (target 4.3.6); instead: durable: true (with expires or auto_delete for a "
        "short-lived queue), or an exclusive queue declared by its consumer"
    ]
    errors, warnings = problems(tmp_path, text, "3.13")
    assert errors == [
        "t.yaml:2:32: exchange type 'x-local-random' needs RabbitMQ 4.0 or later (target 3.13); "
        "built into RabbitMQ 4.0+, no plugin provides it before: use x-random "
        "(rabbitmq_random_exchange) or another type"
    ]
    assert warnings == []


def test_validate_target_exit_statuses(tmp_path: Path) -> None:
    cli = Cli()
    path = write(tmp_path / "t.yaml", LEGACY)
    mirroring = "classic queue mirroring (the {key} policy key) is {what} from RabbitMQ {since}"
    instead_of_mirroring = "instead: quorum queues (type: quorum) or streams; drop the ha-* keys"
    lazy = (
        "queue_mode (x-queue-mode) (lazy classic queues) is {what} from RabbitMQ {since}; instead: "
        "nothing: classic queues keep messages on disk by themselves since 3.12; drop the key"
    )
    version_1 = (
        "classic queue version 1 (x-queue-version: 1) is {what} from RabbitMQ {since}; instead: "
        "version 2 (drop the key, or set it to 2)"
    )
    refused = cli.raw("topology", "validate", "--target", "4.3", str(path))
    gone = {"what": "removed or refused", "since": "4.0 (target 4.3)"}
    assert (refused.status, refused.err_lines) == (
        4,
        [
            "mqctl: error: the topology is invalid (5 problems); nothing was applied",
            f"{path}:4:17: " + lazy.format(**gone),
            f"{path}:6:34: " + version_1.format(**gone),
            f"{path}:6:61: the x-queue-master-locator argument is removed or refused from RabbitMQ "
            "4.3 (target 4.3); instead: queue-leader-locator (x-queue-leader-locator) with "
            "client-local or balanced",
            f"{path}:10:17: {mirroring.format(key='ha-mode', **gone)}; {instead_of_mirroring}",
            f"{path}:10:17: {mirroring.format(key='ha-sync-mode', **gone)}; {instead_of_mirroring}",
        ],
    )
    warned = cli.raw("topology", "validate", "--target", "3.13", str(path))
    deprecated = "deprecated"
    since = {v: f"{v} (target 3.13)" for v in ("3.9", "3.12", "3.13")}
    assert (warned.status, warned.err_lines) == (
        0,
        [
            f"warning: {path}:4:17: " + lazy.format(what=deprecated, since=since["3.12"]),
            f"warning: {path}:6:34: " + version_1.format(what=deprecated, since=since["3.13"]),
            f"warning: {path}:10:17: "
            f"{mirroring.format(key='ha-mode', what=deprecated, since=since['3.9'])}; "
            f"{instead_of_mirroring}",
            f"warning: {path}:10:17: "
            f"{mirroring.format(key='ha-sync-mode', what=deprecated, since=since['3.9'])}; "
            f"{instead_of_mirroring}",
            "valid: 3 objects (1 policies, 2 queues)",
        ],
    )
    assert cli.raw("topology", "validate", str(path)).status == 0  # no target: no version rules
    bad = cli.raw("topology", "validate", "--target", "four", str(path))
    assert (bad.status, bad.err) == (
        4,
        "mqctl: error: --target 'four' is not a RabbitMQ version; give MAJOR.MINOR, e.g. "
        "--target 4.3\n",
    )


@pytest.mark.broker
def test_plan_and_apply_check_the_live_broker_version_before_changing_anything(
    vhost: str,
    clean_env: Path,
    tmp_path: Path,
    broker_version: tuple[int, ...],
) -> None:
    cli = Cli()
    text = (
        f"vhost: {json.dumps(vhost)}\nqueues: [{{name: work}}]\n"
        "policies:\n  - {name: mirror, pattern: ^work$, definition: {ha-mode: all}}\n"
    )
    path = write(tmp_path / "t.yaml", text)
    for command in ("plan", "apply"):
        result = cli("topology", command, str(path))
        if broker_version >= (4,):  # mirroring is gone: refused, nothing changed
            assert result.status == 4, result.err
            assert "the ha-mode policy key) is removed or refused from RabbitMQ 4.0" in result.err
            assert definitions(vhost)["queues"] == []
        else:  # deprecated from 3.9: said, and carried out
            assert "warning: " in result.err and "is deprecated from RabbitMQ 3.9" in result.err
            assert result.status == (2 if command == "plan" else 0), result.err

"""Completion of the operate commands: KIND names, columns, sort columns and health checks
offline; connection names and queue names live from the broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.completion_helpers import base_env, candidates, complete, complete_here
from tests.conftest import AMQP_URL, API_URL
from tests.operate_helpers import amqp, api_get, wait_for


def offered(
    line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    return candidates("fish", complete_here("fish", line, monkeypatch, capsys))


def test_kinds_columns_sort_and_checks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert offered("mqctl list con", monkeypatch, capsys) == ["connections", "consumers"]
    columns = offered("mqctl list queues --columns name,messages_", monkeypatch, capsys)
    assert columns == ["name,messages_ready", "name,messages_unacknowledged"]
    assert "all" in offered("mqctl list queues --columns ", monkeypatch, capsys)
    assert offered("mqctl list exchanges --sort -ty", monkeypatch, capsys) == ["-type"]
    assert offered("mqctl top --sort consu", monkeypatch, capsys) == ["consumers"]
    assert offered("mqctl health local", monkeypatch, capsys) == ["local-alarms"]


@pytest.mark.broker
def test_connection_and_queue_names_from_the_broker(tmp_path: Path, vhost: str) -> None:
    tag = uuid.uuid4().hex[:8]
    connection = amqp(vhost, client_properties={"connection_name": tag})
    try:
        names = wait_for(
            lambda: [c["name"] for c in api_get("connections") if c.get("vhost") == vhost],
            "the connection in the API",
        )
        env = {**base_env(tmp_path), "MQCTL_COMPLETION_TTL": "0"}
        line = f"mqctl close connection --api {API_URL} --url {AMQP_URL} {names[0][:6]}"
        assert names[0] in candidates("fish", complete("fish", line, env))
        connection.channel().queue_declare(f"q-{tag}")
        line = f"mqctl show queue --api {API_URL} --vhost {vhost} q-"
        assert candidates("fish", complete("fish", line, env)) == [f"q-{tag}"]
    finally:
        connection.close()

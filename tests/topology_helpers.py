"""Helpers shared by the topology tests that talk to the real broker."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.conftest import AMQP_URL, API_URL, AUTH
from tests.run import Run, run_in_process


def quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def api(method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{API_URL}/api/{path}", json=body, auth=AUTH, timeout=30)
    if method != "DELETE":
        response.raise_for_status()
    return response.json() if response.content else None


def definitions(vhost: str) -> dict[str, Any]:
    """A vhost's definitions, sorted so that two can be compared.

    RabbitMQ 4.3.6 cuts its per-vhost definitions off for some non-ASCII vhost names, and 4.0.5
    answers 500 for them; the global export holds the same records then (with `vhost` keys,
    dropped below).
    """
    try:
        data = api("GET", f"definitions/{quote(vhost)}")
    except (requests.JSONDecodeError, requests.HTTPError):
        everything = api("GET", "definitions")
        data = {
            section: [item for item in everything.get(section, []) if item.get("vhost") == vhost]
            for section in ("queues", "exchanges", "bindings", "policies", "parameters")
        }
    result = {}
    for section in ("queues", "exchanges", "bindings", "policies", "parameters"):
        items = data.get(section, [])
        for item in items:
            item.pop("vhost", None)
        result[section] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    return result


class Cli:
    """Runs `mqctl` in-process against the test broker (tests/run.py) and keeps what it printed."""

    def __call__(self, *args: str, stdin: str | bytes | None = None) -> Run:
        return self.raw(*args, "--url", AMQP_URL, "--api", API_URL, stdin=stdin)

    def raw(self, *args: str, stdin: str | bytes | None = None) -> Run:
        """Without the test broker's --url and --api added (the test gives its own)."""
        return run_in_process(*args, stdin=stdin)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def own_vhosts(*names: str) -> Iterator[None]:
    """Vhosts a test creates through mqctl: deleted afterwards whatever happens."""
    try:
        yield
    finally:
        for name in names:
            api("DELETE", f"vhosts/{quote(name)}")


def publish(vhost: str, queue: str, body: str = "x") -> None:
    api(
        "POST",
        f"exchanges/{quote(vhost)}/amq.default/publish",
        {"properties": {}, "routing_key": queue, "payload": body, "payload_encoding": "string"},
    )

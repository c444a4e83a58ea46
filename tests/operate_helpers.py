"""Helpers for the operate tests: the library's client on the test broker, polling the API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import pika
import requests

from mqctl.config import ConnectionOptions, ConnectionSettings, resolve
from mqctl.management import ManagementClient
from tests.conftest import AMQP_URL, API_URL, AUTH

T = TypeVar("T")


def settings(vhost: str) -> ConnectionSettings:
    return resolve(ConnectionOptions(url=AMQP_URL, api=API_URL, vhost=vhost), env={})


@contextmanager
def client(vhost: str) -> Iterator[ManagementClient]:
    with ManagementClient(settings(vhost), timeout=60) as c:
        yield c


def q(name: str) -> str:
    return quote(name, safe="")


def api_get(path: str, **params: Any) -> Any:
    response = requests.get(f"{API_URL}/api/{path}", params=params, auth=AUTH, timeout=60)
    response.raise_for_status()
    return response.json()


def api_put(path: str, body: Any) -> None:
    requests.put(f"{API_URL}/api/{path}", json=body, auth=AUTH, timeout=60).raise_for_status()


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll until `check` gives something truthy (the API's figures lag by its stats
    interval); fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def queue_depths_settled(vhost: str, expected: dict[str, int]) -> list[dict[str, Any]] | None:
    """The vhost's queues once the API shows each with its expected depth."""
    listed = api_get(f"queues/{q(vhost)}")
    depths = {item["name"]: item.get("messages") for item in listed}
    return listed if all(depths.get(n) == m for n, m in expected.items()) else None


def amqp(vhost: str, **params: Any) -> pika.BlockingConnection:
    parameters = pika.URLParameters(AMQP_URL)
    parameters.virtual_host = vhost
    for key, value in params.items():
        setattr(parameters, key, value)
    return pika.BlockingConnection(parameters)


def publish(vhost: str, queue: str, count: int) -> None:
    connection = amqp(vhost)
    channel = connection.channel()
    channel.confirm_delivery()
    for i in range(count):
        channel.basic_publish("", queue, f"m{i}".encode(), mandatory=True)
    connection.close()


def declare_queues(vhost: str, names: dict[str, dict[str, Any]]) -> None:
    """Queues by definitions import: {name: arguments}."""
    body = {
        "queues": [
            {"name": n, "durable": True, "auto_delete": False, "arguments": a}
            for n, a in names.items()
        ]
    }
    requests.post(
        f"{API_URL}/api/definitions/{q(vhost)}", json=body, auth=AUTH, timeout=900
    ).raise_for_status()


def fill(vhost: str, depths: dict[str, int]) -> str:
    """Classic queues holding these many messages each, once the API shows every depth."""
    declare_queues(vhost, {name: {} for name in depths})
    for name, count in depths.items():
        publish(vhost, name, count)
    wait_for(lambda: queue_depths_settled(vhost, depths), "the API's queue depths")
    return vhost

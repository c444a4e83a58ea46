"""Shared fixtures: the real broker (never a mock), unique names, and a throw-away vhost."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.compact_asserts import explain_equality

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("MQCTL_TEST_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
API_URL = os.environ.get("MQCTL_TEST_API", "http://127.0.0.1:15672")
AUTH = ("guest", "guest")
# The tested broker as mqctl names it in messages ("127.0.0.1:5672"), and its host alone: tests that
# build their own URLs (other users, other vhosts, amqps://) take them from here, so that they run
# against whichever broker of the matrix MQCTL_TEST_URL names.
BROKER_HOST = urlsplit(AMQP_URL).hostname or "127.0.0.1"
BROKER_PORT = urlsplit(AMQP_URL).port or 5672
BROKER_ADDRESS = f"{BROKER_HOST}:{BROKER_PORT}"
API_ADDRESS = urlsplit(API_URL).netloc


def broker_url(userinfo: str = "guest:guest", vhost: str = "%2f", scheme: str = "amqp") -> str:
    """A URL of the tested broker with other credentials or another vhost."""
    return f"{scheme}://{userinfo}@{BROKER_ADDRESS}/{vhost}"


# Which broker of the matrix the tests run against (scripts/brokers run NAME sets it): "system" is the
# host's broker, which scripts/broker may start; the others are brought up by scripts/brokers only.
BROKER_NAME = os.environ.get("MQCTL_TEST_BROKER", "system")


def _api_answers() -> bool:
    try:
        return requests.get(f"{API_URL}/api/overview", auth=AUTH, timeout=5).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="session")
def broker() -> str:
    """The real RabbitMQ with its management plugin; brought up by scripts/broker if needed.

    Fails (never skips) when it cannot be had: integration tests must not pass vacuously.
    """
    if not _api_answers() and BROKER_NAME == "system":
        subprocess.run([str(ROOT / "scripts" / "broker")], check=True)
    if not _api_answers():
        how = "scripts/broker" if BROKER_NAME == "system" else f"scripts/brokers up {BROKER_NAME}"
        pytest.fail(f"RabbitMQ management API does not answer at {API_URL}; run {how}")
    return AMQP_URL


@pytest.fixture(scope="session")
def broker_version(broker: str) -> tuple[int, ...]:
    """The tested broker's version, e.g. (4, 3, 6): tests assert what each version does."""
    answer = requests.get(
        f"{API_URL}/api/overview", params={"columns": "rabbitmq_version"}, auth=AUTH, timeout=10
    )
    answer.raise_for_status()
    text = str(answer.json()["rabbitmq_version"])
    return tuple(int(part) for part in text.split("+")[0].split("-")[0].split("."))


def broker_table_order(keys: list[Any], version: tuple[int, ...]) -> list[Any]:
    """The order a broker of `version` hands a header table's keys on in: 3.x keeps the
    publisher's order, 4.x sorts them (by their bytes)."""
    if version < (4,):
        return list(keys)
    return sorted(keys, key=lambda k: k.encode() if isinstance(k, str) else k)


def pytest_assertrepr_compare(op: str, left: Any, right: Any) -> list[str] | None:
    # Large values get a short explanation (tests/compact_asserts.py), CI or not.
    return explain_equality(left, right) if op == "==" else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test that uses the broker is marked so (`-m broker` selects what the matrix reruns on
    # each broker), whether or not its module says so.
    # Cluster tests need the cluster's namespace, which only scripts/test's cluster leg gives.
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)
        if BROKER_NAME != "cluster" and item.get_closest_marker("cluster"):
            item.add_marker(
                pytest.mark.skip(reason="cluster test: scripts/test runs it on the cluster")
            )


@pytest.fixture
def unique() -> str:
    """A name no other test (or test run) uses."""
    return f"mqctl-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def vhost(broker: str, unique: str) -> Iterator[str]:
    """A fresh vhost with guest's full permissions, deleted afterwards."""
    name = unique
    quoted = quote(name, safe="")
    requests.put(f"{API_URL}/api/vhosts/{quoted}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{API_URL}/api/permissions/{quoted}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    yield name
    requests.delete(f"{API_URL}/api/vhosts/{quoted}", auth=AUTH, timeout=30)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MQCTL_* variables, an empty config home and no secrets remembered from an earlier test
    (mqctl.redact keeps them per process), so tests see only what they set."""
    from mqctl import redact

    redact.forget_all()
    for key in list(os.environ):
        if key.startswith("MQCTL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path / "config"


@pytest.fixture
def tls_broker(broker: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The broker behind a TLS terminator with a throw-away certificate for 127.0.0.1: its port
    and the certificate, which is its own CA."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(None)
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()  # the client refused our certificate: some tests want that
                continue
            plain = socket.create_connection((BROKER_HOST, BROKER_PORT))
            threading.Thread(target=pipe, args=(tls, plain), daemon=True).start()
            threading.Thread(target=pipe, args=(plain, tls), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], cert
    finally:
        stop.set()
        thread.join(5)
        listener.close()

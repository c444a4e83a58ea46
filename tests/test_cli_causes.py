"""Messages that name the real cause (issue 19, "Messages that point the wrong way"): each case
through the CLI, with its exact line and exit status."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from mqctl.config import ConnectionOptions, resolve
from tests.conftest import API_ADDRESS, API_URL, AUTH, BROKER_ADDRESS, BROKER_HOST, broker_url
from tests.run import run_in_process

pytestmark = pytest.mark.broker


def write_profiles(config_home: Path, text: str | bytes) -> Path:
    path = config_home / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the management API URL -------------------------------------------------------------------


def test_api_url_ending_in_api_is_the_base_url(clean_env: Path, vhost: str) -> None:
    assert resolve(ConnectionOptions(api="http://h:15672/api/")).api_url == "http://h:15672"
    assert resolve(ConnectionOptions(api="http://h/rabbit/api")).api_url == "http://h/rabbit"
    status, out, err = run_in_process(
        "topology", "export", "--vhost", vhost, "--api", f"{API_URL}/api"
    )
    assert (status, err) == (0, "")
    assert f"vhost: {vhost}" in out


class Forbidding(BaseHTTPRequestHandler):
    """An HTTP proxy that refuses everything, the way corporate proxies do: an HTML page."""

    def refuse(self) -> None:
        body = b"<html><body>Access denied by proxy policy</body></html>"
        self.send_response(403)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = refuse

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test's stderr for mqctl


@pytest.fixture
def forbidding_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidding)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", url)
    yield url
    server.shutdown()
    server.server_close()


def test_a_403_from_a_proxy_in_the_environment_names_the_proxy(
    clean_env: Path, forbidding_proxy: str
) -> None:
    status, out, err = run_in_process("topology", "export", "--url", broker_url())
    assert (status, out, err) == (
        3,
        "",
        "mqctl: error: GET /api/overview: 403 Forbidden came from the HTTP proxy "
        f"{forbidding_proxy} (from http_proxy), not from RabbitMQ (its management API answers "
        f"JSON); add the broker to no_proxy (export no_proxy={BROKER_HOST}), or unset http_proxy\n",
    )


def test_no_proxy_for_the_broker_goes_straight_to_rabbitmq(
    clean_env: Path, vhost: str, forbidding_proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", BROKER_HOST)
    status, _, err = run_in_process("topology", "export", "--vhost", vhost, "--url", broker_url())
    assert (status, err) == (0, "")


@pytest.fixture
def plain_user(broker: str) -> Iterator[tuple[str, str]]:
    """A user tagged management, with no permissions on any vhost."""
    name, password = f"mqctl-test-{uuid.uuid4().hex[:10]}", f"Pw-{uuid.uuid4().hex}"
    url = f"{API_URL}/api/users/{name}"
    requests.put(
        url, json={"password": password, "tags": "management"}, auth=AUTH, timeout=10
    ).raise_for_status()
    yield name, password
    requests.delete(url, auth=AUTH, timeout=10)


def test_rabbitmq_refusing_a_non_administrator(
    clean_env: Path, plain_user: tuple[str, str], vhost: str, tmp_path: Path
) -> None:
    name, password = plain_user
    topology = tmp_path / "t.yaml"
    topology.write_text(f"vhost: {vhost}\nqueues:\n  - name: q\n", encoding="utf-8")
    status, _, err = run_in_process(
        "topology", "plan", "--url", broker_url(f"{name}:{password}"), str(topology)
    )
    assert status == 3
    assert err == (
        f"mqctl: error: GET /api/permissions needs an administrator, and user '{name}' is not "
        f"one; use a user tagged administrator (rabbitmqctl set_user_tags {name} administrator)\n"
    )


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_topology_names_the_administrator_tag_for_a_user_with_every_other_tag(
    clean_env: Path, vhost: str, tmp_path: Path, command: str
) -> None:
    """plan, apply and export read GET /api/definitions/{vhost}, which RabbitMQ answers 401 for
    any user without the administrator tag, even one tagged management, monitoring and
    policymaker with every permission on the vhost: the error names that tag, not the password."""
    name, password = f"mqctl-test-{uuid.uuid4().hex[:10]}", f"Pw-{uuid.uuid4().hex}"
    user_url = f"{API_URL}/api/users/{name}"
    requests.put(
        user_url,
        json={"password": password, "tags": "management,monitoring,policymaker"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    try:
        requests.put(
            f"{API_URL}/api/permissions/{quote(vhost, safe='')}/{name}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=AUTH,
            timeout=10,
        ).raise_for_status()
        topology = tmp_path / "t.yaml"
        topology.write_text(f"vhost: {vhost}\nqueues:\n  - name: q\n", encoding="utf-8")
        url = f"amqp://{name}:{password}@127.0.0.1/{quote(vhost, safe='')}"
        args = ["--vhost", vhost] if command == "export" else [str(topology)]
        status, out, err = run_in_process("topology", command, "--url", url, *args)
        assert (status, out) == (3, "")
        assert err == (
            f"mqctl: error: GET /api/definitions/{quote(vhost, safe='')} needs an administrator, "
            f"and user '{name}' is not one; use a user tagged administrator (rabbitmqctl "
            f"set_user_tags {name} administrator)\n"
        )
        assert password not in err
    finally:
        requests.delete(user_url, auth=AUTH, timeout=10)


def test_a_user_without_the_management_tag(clean_env: Path, unique: str) -> None:
    url = f"{API_URL}/api/users/{unique}"
    requests.put(url, json={"password": "pw-12345", "tags": ""}, auth=AUTH, timeout=10)
    try:
        status, _, err = run_in_process(
            "topology", "export", "--url", broker_url(f"{unique}:pw-12345")
        )
    finally:
        requests.delete(url, auth=AUTH, timeout=10)
    assert (status, err) == (
        3,
        f"mqctl: error: user '{unique}' has no management tag, which the management API "
        f"requires; tag it (rabbitmqctl set_user_tags {unique} management) or use another user\n",
    )


# --- TLS to a plain port ---------------------------------------------------------------------


def test_amqps_to_the_plain_amqp_port(clean_env: Path) -> None:
    status, out, err = run_in_process(
        "get", "-q", "q", "--insecure", "--url", broker_url(scheme="amqps")
    )
    assert (status, out, err) == (
        3,
        "",
        f"mqctl: error: {BROKER_ADDRESS} did not answer TLS (WRONG_VERSION_NUMBER): it looks like a "
        "plain AMQP port; use amqp:// with this port, or amqps:// with the TLS port (5671 by "
        "default)\n",
    )


def test_https_to_the_plain_management_port(clean_env: Path) -> None:
    status, _, err = run_in_process(
        "topology",
        "export",
        "--insecure",
        "--url",
        broker_url(scheme="amqps"),
        "--api",
        f"https://{API_ADDRESS}",
    )
    assert (status, err) == (
        3,
        f"mqctl: error: the management API at https://{API_ADDRESS} did not answer TLS "
        "(WRONG_VERSION_NUMBER): it looks like a plain HTTP port; use --api "
        f"http://{API_ADDRESS}, or the HTTPS port (15671 by default)\n",
    )


# --- settings that name themselves -----------------------------------------------------------


@pytest.mark.parametrize("written", ["%2f", "%2F", "/"])
def test_vhost_option_takes_percent_2f_as_slash(clean_env: Path, unique: str, written: str) -> None:
    status, _, err = run_in_process("get", "-q", unique, "--vhost", written)
    assert (status, err) == (
        1,
        f"mqctl: error: getting from queue '{unique}' failed: 404 NOT_FOUND - no queue "
        f"'{unique}' in vhost '/'; check the name and the vhost (--vhost)\n",
    )


def test_insecure_from_the_environment_names_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQCTL_INSECURE", "maybe")
    status, _, err = run_in_process("get", "-q", "q")
    assert (status, err) == (
        4,
        "mqctl: error: MQCTL_INSECURE: cannot read 'maybe' as true or false; "
        "use true or false (1/0, yes/no, on/off)\n",
    )


def test_insecure_from_the_profile_names_the_key(clean_env: Path) -> None:
    write_profiles(clean_env, "profiles:\n  p:\n    url: amqp://h\n    insecure: perhaps\n")
    status, _, err = run_in_process("get", "-q", "q", "--profile", "p")
    assert (status, err) == (
        4,
        "mqctl: error: the profile's insecure: cannot read 'perhaps' as true or false; "
        "use true or false (1/0, yes/no, on/off)\n",
    )


def test_a_profile_file_that_is_not_utf8(clean_env: Path) -> None:
    path = write_profiles(clean_env, b"profiles:\n  p:\n    url: amqp://h/caf\xe9\n")
    status, _, err = run_in_process("get", "-q", "q", "--profile", "p")
    assert (status, err) == (
        4,
        f"mqctl: error: profile file {path} is not UTF-8 text (byte 0xe9 on line 3); "
        "save it as UTF-8, or set MQCTL_CONFIG to another file\n",
    )


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        (
            "    url: amqp://u:inurl@h/\n    password: alsohere\n",
            "a password in its url and password:",
        ),
        (
            "    url: amqp://u@h/\n    password_env: PW\n    password_file: /etc/pw\n",
            "password_env: and password_file:",
        ),
        (
            "    url: amqp://u:x@h/\n    password: y\n    password_env: PW\n",
            "a password in its url and password: and password_env:",
        ),
    ],
)
def test_a_profile_that_gives_its_password_twice(clean_env: Path, keys: str, named: str) -> None:
    path = write_profiles(clean_env, f"profiles:\n  p:\n{keys}")
    status, _, err = run_in_process("get", "-q", "q", "--profile", "p")
    count = named.count(" and ") + 1
    assert (status, err) == (
        4,
        f"mqctl: error: profile 'p' in {path} gives its password {count} ways: {named}; "
        "keep one of them\n",
    )
    for password in ("inurl", "alsohere"):
        assert password not in err


# --- a stream queue ----------------------------------------------------------------------------


def test_get_on_a_stream_queue_suggests_consume(clean_env: Path, vhost: str, unique: str) -> None:
    requests.put(
        f"{API_URL}/api/queues/{vhost}/{unique}",
        json={"durable": True, "arguments": {"x-queue-type": "stream"}},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    status, out, err = run_in_process("get", "-q", unique, "--vhost", vhost)
    assert (status, out, err) == (
        1,
        "",
        f"mqctl: error: queue '{unique}' is a stream, which basic.get cannot read "
        f"(540 NOT_IMPLEMENTED); read it with: mqctl consume -q {unique} --offset first\n",
    )

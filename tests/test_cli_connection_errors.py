"""Connection failures through the CLI (issue 3, "Bad input"), with `mqctl get` as the vehicle:
each gives its exit status and one exact line, and no password ever reaches the output."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import API_URL, AUTH

from mqctl.cli import main

pytestmark = pytest.mark.broker


@pytest.fixture
def user(broker: str, unique: str) -> Iterator[tuple[str, str]]:
    """A throw-away broker user with a distinctive password (no permissions needed)."""
    password = f"Pw-{uuid.uuid4().hex}"
    url = f"{API_URL}/api/users/{unique}"
    requests.put(
        url, json={"password": password, "tags": ""}, auth=AUTH, timeout=10
    ).raise_for_status()
    yield unique, password
    requests.delete(url, auth=AUTH, timeout=10)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["get", "-q", "anything", *args])
    out, err = capsys.readouterr()
    assert out == ""
    return status, err


def secret() -> str:
    return f"S3cret-{uuid.uuid4().hex[:12]}"


def test_unreachable_host(capsys, clean_env):
    pw = secret()
    status, err = run(capsys, "--url", f"amqp://someone:{pw}@nohost.invalid/%2f")
    assert (status, err) == (
        3,
        "mqctl: error: cannot resolve host 'nohost.invalid'; check the host name in --url\n",
    )
    assert pw not in err


def test_refused_port(capsys, clean_env):
    pw = secret()
    status, err = run(capsys, "--url", f"amqp://someone:{pw}@127.0.0.1:1/%2f")
    assert (status, err) == (
        3,
        "mqctl: error: connection refused by 127.0.0.1:1; is RabbitMQ running there? "
        "check the host and port in --url\n",
    )
    assert pw not in err


def test_wrong_password(capsys, clean_env, user):
    name, _ = user
    wrong = secret()
    status, err = run(capsys, "--url", f"amqp://{name}:{wrong}@127.0.0.1:5672/%2f")
    assert (status, err) == (
        3,
        f"mqctl: error: authentication refused for user '{name}' at 127.0.0.1:5672; "
        "check the user name and password (--url or the profile)\n",
    )
    assert wrong not in err


def test_unknown_vhost(capsys, clean_env, user, unique):
    name, password = user
    vhost = f"{unique}-missing"
    status, err = run(capsys, "--url", f"amqp://{name}:{password}@127.0.0.1:5672/{vhost}")
    assert (status, err) == (
        3,
        f"mqctl: error: access to vhost '{vhost}' refused at 127.0.0.1:5672: it does not exist "
        f"or user '{name}' has no permissions on it; check --vhost or the vhost in the URL path "
        "(%2f for /)\n",
    )
    assert password not in err


def test_malformed_url(capsys, clean_env):
    pw = secret()
    status, err = run(capsys, "--url", f"amqp://someone:{pw}@127.0.0.1:notaport/%2f")
    # The hint's own "PASSWORD" placeholder is masked too: redact.scrub masks any URL password.
    assert (status, err) == (
        4,
        "mqctl: error: malformed AMQP URL 'amqp://someone:****@127.0.0.1:notaport/%2f' from --url: "
        "Port could not be cast to integer value as 'notaport'; "
        "use amqp://USER:PASSWORD@HOST:PORT/VHOST\n",
    )
    assert pw not in err


def test_unreadable_profile_file(capsys, clean_env: Path):
    pw = secret()
    path = clean_env / "mqctl" / "config.yaml"
    path.mkdir(parents=True)  # a directory: unreadable as a file, even for root
    status, err = run(capsys, "--profile", "work", "--url", f"amqp://someone:{pw}@127.0.0.1/%2f")
    assert (status, err) == (
        4,
        f"mqctl: error: cannot read profile file {path}: Is a directory; "
        "fix its permissions or set MQCTL_CONFIG to another file\n",
    )
    assert pw not in err


def test_unknown_profile(capsys, clean_env: Path):
    pw = secret()
    path = clean_env / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"profiles:\n  work:\n    url: amqp://someone:{pw}@127.0.0.1/%2f\n")
    status, err = run(capsys, "--profile", "play")
    assert (status, err) == (
        4,
        f"mqctl: error: unknown profile 'play' in {path}; known profiles: work\n",
    )
    assert pw not in err


def test_password_from_a_profile_is_never_shown(capsys, clean_env: Path, user):
    name, password = user
    path = clean_env / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f"profiles:\n  work:\n    url: amqp://{name}@127.0.0.1:5672/nope\n"
        f"    password: {password}\n"
    )
    status, err = run(capsys, "--profile", "work", "--debug")
    assert status == 3
    assert password not in err
    assert err.endswith(
        f"mqctl: error: access to vhost 'nope' refused at 127.0.0.1:5672: it does not exist or "
        f"user '{name}' has no permissions on it; check --vhost or the vhost in the URL path "
        "(%2f for /)\n"
    )

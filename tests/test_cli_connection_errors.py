"""Connection failures through the CLI (issue 3, "Bad input"), with `mqctl get` as the vehicle:
each gives its exit status and one exact line, and no password ever reaches the output."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mqctl.cli import main
from tests.conftest import API_URL, AUTH, BROKER_ADDRESS

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


def test_unreachable_host(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    pw = secret()
    status, err = run(capsys, "--url", f"amqp://someone:{pw}@nohost.invalid/%2f")
    assert (status, err) == (
        3,
        "mqctl: error: cannot resolve host 'nohost.invalid'; check the host name in --url\n",
    )
    assert pw not in err


def test_refused_port(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    pw = secret()
    status, err = run(capsys, "--url", f"amqp://someone:{pw}@127.0.0.1:1/%2f")
    assert (status, err) == (
        3,
        "mqctl: error: connection refused by 127.0.0.1:1; is RabbitMQ running there? "
        "check the host and port in --url\n",
    )
    assert pw not in err


def test_wrong_password(
    capsys: pytest.CaptureFixture[str], clean_env: Path, user: tuple[str, str]
) -> None:
    name, _ = user
    wrong = secret()
    status, err = run(capsys, "--url", f"amqp://{name}:{wrong}@{BROKER_ADDRESS}/%2f")
    assert (status, err) == (
        3,
        f"mqctl: error: authentication refused for user '{name}' at {BROKER_ADDRESS}; "
        "check the user name and password (--url or the profile)\n",
    )
    assert wrong not in err


def test_unknown_vhost(
    capsys: pytest.CaptureFixture[str], clean_env: Path, user: tuple[str, str], unique: str
) -> None:
    name, password = user
    vhost = f"{unique}-missing"
    status, err = run(capsys, "--url", f"amqp://{name}:{password}@{BROKER_ADDRESS}/{vhost}")
    assert (status, err) == (
        3,
        f"mqctl: error: access to vhost '{vhost}' refused at {BROKER_ADDRESS}: it does not exist "
        f"or user '{name}' has no permissions on it; check --vhost or the vhost in the URL path "
        "(%2f for /)\n",
    )
    assert password not in err


def test_malformed_url(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
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


def test_unreadable_profile_file(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
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


def test_unknown_profile(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
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


def test_password_from_a_profile_is_never_shown(
    capsys: pytest.CaptureFixture[str], clean_env: Path, user: tuple[str, str]
) -> None:
    name, password = user
    path = clean_env / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f"profiles:\n  work:\n    url: amqp://{name}@{BROKER_ADDRESS}/nope\n"
        f"    password: {password}\n"
    )
    status, err = run(capsys, "--profile", "work", "--debug")
    assert status == 3
    assert password not in err
    assert err.endswith(
        f"mqctl: error: access to vhost 'nope' refused at {BROKER_ADDRESS}: it does not exist or "
        f"user '{name}' has no permissions on it; check --vhost or the vhost in the URL path "
        "(%2f for /)\n"
    )


PERCENT_HINT = (
    "percent-encode special characters in the user name and password: "
    "/ as %2F, ? as %3F, # as %23, % as %25, @ as %40, space as %20"
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://u:Sec/retXYZ@localhost:5672/v", "amqp://****@localhost:5672/v"),
        ("amqp://u:Sec#retXYZ@localhost:5672/v", "amqp://****@localhost:5672/v"),
        ("amqp://u:Sec?retXYZ@localhost:5672/v", "amqp://****@localhost:5672/v"),
        ("amqp://u:p@ss:w/rd%41 #?&@host/v", "amqp://****@host/v"),
    ],
)
def test_a_password_that_breaks_the_url_is_never_shown(
    capsys: pytest.CaptureFixture[str], clean_env: Path, url: str, shown: str
) -> None:
    status, err = run(capsys, "--url", url)
    assert (status, err) == (
        4,
        f"mqctl: error: malformed AMQP URL {shown!r} from --url: a '/', '?' or '#' stands "
        f"before the last '@', so where the password ends is unclear; {PERCENT_HINT}\n",
    )
    for part in ("Sec", "retXYZ", "ss:w", "rd%41"):
        assert part not in err


def test_the_same_from_the_environment(
    capsys: pytest.CaptureFixture[str], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQCTL_URL", "amqp://u:Sec/retXYZ@localhost:5672/v")
    status, err = run(capsys)
    assert (status, err) == (
        4,
        "mqctl: error: malformed AMQP URL 'amqp://****@localhost:5672/v' from MQCTL_URL: a '/', "
        "'?' or '#' stands before the last '@', so where the password ends is unclear; "
        f"{PERCENT_HINT}\n",
    )


def test_a_percent_that_starts_no_escape(
    capsys: pytest.CaptureFixture[str], clean_env: Path
) -> None:
    status, err = run(capsys, "--url", "amqp://u:100%sure@127.0.0.1:5672/v")
    assert (status, err) == (
        4,
        "mqctl: error: malformed AMQP URL 'amqp://u:****@127.0.0.1:5672/v' from --url: a '%' in "
        f"the user name or password starts no percent-escape (%XX); {PERCENT_HINT}\n",
    )


def test_unencoded_at_colon_and_space_in_a_password_are_read_as_meant(
    capsys: pytest.CaptureFixture[str], clean_env: Path, user: tuple[str, str]
) -> None:
    name, _ = user
    wrong = "p@ss w:rd-0123"
    status, err = run(capsys, "--url", f"amqp://{name}:{wrong}@{BROKER_ADDRESS}/%2f")
    assert (status, err) == (
        3,
        f"mqctl: error: authentication refused for user '{name}' at {BROKER_ADDRESS}; "
        "check the user name and password (--url or the profile)\n",
    )


@pytest.fixture
def same_name_user(broker: str, unique: str) -> Iterator[str]:
    """A user whose password is its own name."""
    url = f"{API_URL}/api/users/{unique}"
    requests.put(url, json={"password": unique, "tags": ""}, auth=AUTH, timeout=10)
    yield unique
    requests.delete(url, auth=AUTH, timeout=10)


def test_a_user_name_equal_to_the_password_stays_readable(
    capsys: pytest.CaptureFixture[str], clean_env: Path, same_name_user: str
) -> None:
    name = same_name_user
    status, err = run(capsys, "--url", f"amqp://{name}:{name}@{BROKER_ADDRESS}/nope")
    assert (status, err) == (
        3,
        f"mqctl: error: access to vhost 'nope' refused at {BROKER_ADDRESS}: it does not exist "
        f"or user '{name}' has no permissions on it; check --vhost or the vhost in the URL path "
        "(%2f for /)\n",
    )


def test_the_broker_naming_the_authenticated_user_stays_readable(
    capsys: pytest.CaptureFixture[str], clean_env: Path, vhost: str
) -> None:
    # guest:guest: the broker's "authenticated user was 'guest'" used to read '****'.
    capsys.readouterr()
    status = main(
        [
            "publish",
            "-k",
            "q",
            "--body",
            "x",
            "--user-id",
            "someone",
            "--url",
            f"amqp://guest:guest@{BROKER_ADDRESS}/{vhost}",
        ]
    )
    out, err = capsys.readouterr()
    # The summary line comes on every failure too (what was sent and confirmed before it).
    assert out == "sent 1, confirmed 0, returned 0, nacked 0, unconfirmed 1\n"
    assert (status, err) == (
        1,
        "mqctl: error: publishing failed: 406 PRECONDITION_FAILED - user_id property set to "
        "'someone' but authenticated user was 'guest' (1 sent, 0 confirmed, 1 unconfirmed); check the message's "
        "properties (user_id must be the connected user)\n",
    )

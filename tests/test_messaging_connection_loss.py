"""A connection lost in the middle (closed by the broker with 320 CONNECTION_FORCED, what a node
restart or `rabbitmqctl close_connection` does): publish says what was confirmed, and move leaves
every message in the source or at the destination.

Only the test's own connections are closed: they log in as a user the test creates and deletes,
so that the shared system broker and everyone else's connections are left alone."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests

from tests.conftest import AMQP_URL, API_URL, AUTH, ROOT
from tests.messaging_support import depth
from tests.test_messaging_move import bodies, fill, queues

__all__ = ["queues"]  # a fixture

pytestmark = pytest.mark.broker


@pytest.fixture
def own_user(broker: str) -> Iterator[tuple[str, str]]:
    """(user name, AMQP URL logging in as it) with full permissions on '/'."""
    name = f"mqctl-test-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    requests.put(f"{API_URL}/api/users/{name}", json={"password": password, "tags": ""},
                 auth=AUTH, timeout=10).raise_for_status()  # fmt: skip
    requests.put(f"{API_URL}/api/permissions/%2f/{name}",
                 json={"configure": ".*", "write": ".*", "read": ".*"}, auth=AUTH,
                 timeout=10).raise_for_status()  # fmt: skip
    host = AMQP_URL.split("@", 1)[1]
    yield name, f"amqp://{name}:{password}@{host}"
    requests.delete(f"{API_URL}/api/users/{name}", auth=AUTH, timeout=10)


def connections_of(user: str, proc: subprocess.Popen[bytes]) -> list[str]:
    """The names of the connections of `user`, which `proc` holds open, once the API lists them
    (within its stats interval, longer on a loaded broker)."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"the command ended before the API listed its connection: {proc.returncode}"
            )
        listed = requests.get(f"{API_URL}/api/connections", auth=AUTH, timeout=10).json()
        mine = [c["name"] for c in listed if c.get("user") == user]
        if mine:
            return mine
        time.sleep(0.1)
    raise AssertionError(f"no connection of {user} listed after 45 s")


def close_connections_of(user: str, proc: subprocess.Popen[bytes]) -> int:
    """Close every connection of `user`, which `proc` holds open."""
    mine = connections_of(user, proc)
    for name in mine:
        requests.delete(f"{API_URL}/api/connections/{quote(name, safe='')}",
                        headers={"X-Reason": "test: connection lost"}, auth=AUTH,
                        timeout=10)  # fmt: skip
    return len(mine)


def wait_for_at_least(queue: str, count: int, seconds: float = 30.0) -> None:
    """Until `queue` holds `count` messages (the run under test is well under way)."""
    deadline = time.monotonic() + seconds
    while depth(queue) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def run(*args: str, url: str, stdin: bool = False) -> subprocess.Popen[bytes]:
    """`mqctl ARGS --url URL` as a child; its stdin a pipe when `stdin`, else empty."""
    return subprocess.Popen(
        [sys.executable, "-m", "mqctl", *args, "--url", url], cwd=ROOT,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_publish_says_what_was_confirmed_when_the_connection_goes(
    queues: tuple[str, str], own_user: tuple[str, str]
) -> None:
    user, url = own_user
    queue, _ = queues
    proc = run("publish", "-k", queue, "--body", "x", "-n", "1000000", "--rate", "3000", url=url)
    wait_for_at_least(queue, 500)
    close_connections_of(user, proc)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    last = out.decode().splitlines()[-1]
    match = re.fullmatch(r"sent (\d+), confirmed (\d+), returned 0, nacked 0(?:, unconfirmed (\d+))?",
                         last)  # fmt: skip
    assert match, out
    sent, confirmed = int(match[1]), int(match[2])
    unconfirmed = int(match[3] or 0)
    assert sent == confirmed + unconfirmed
    assert re.fullmatch(
        r"mqctl: error: the broker closed the connection: 320 CONNECTION_FORCED - test: "
        rf"connection lost \({sent} sent, {confirmed} confirmed"
        + (rf", {unconfirmed} unconfirmed" if unconfirmed else "")
        + r"\)(; .*)?\n",
        err.decode(),
    ), err
    # Everything confirmed is in the queue; what was not may be, or not.
    assert confirmed <= depth(queue) <= sent


@pytest.mark.parametrize("side", ["source", "destination"])
def test_move_across_a_lost_connection_keeps_every_message(
    queues: tuple[str, str], own_user: tuple[str, str], side: str
) -> None:
    user, url = own_user
    source, target = queues
    total = 60000
    fill(source, [b"%d" % i for i in range(total)])
    # The side that loses its connection logs in as the test's own user.
    source_url, target_url = (url, AMQP_URL) if side == "source" else (AMQP_URL, url)
    # The API lists a connection only after a stats interval (5 s), so the move must outlast
    # that: on a quiet machine 30,000 messages go in under 5 s at --prefetch 10; 60,000 at
    # --prefetch 2 take about 20 s, and the test closes the connection after about 5.
    proc = run("move", source, "--to-queue", target, "--to-url", target_url, "--prefetch", "2",
               url=source_url)  # fmt: skip
    wait_for_at_least(target, 1000)
    close_connections_of(user, proc)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "320 CONNECTION_FORCED" in err.decode()
    last = out.decode().splitlines()[-1]
    assert last.startswith("moved "), out
    in_source, in_target = bodies(source), bodies(target)
    everything = [b"%d" % i for i in range(total)]
    assert sorted(set(in_source) | set(in_target), key=int) == everything  # none lost
    duplicated = len(in_source) + len(in_target) - total
    assert duplicated >= 0
    if duplicated:  # only where the summary line says they can be
        assert "may also" in last, (duplicated, last)

"""Connection failures, against the real broker: each has its own message and exit status."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from mqctl.amqp_connection import open_connection
from mqctl.config import ConnectionOptions, resolve
from mqctl.errors import AccessRefused, BrokerError, ExitStatus, Unreachable
from mqctl.management import ManagementClient, api_path
from mqctl.management_reads import ParallelReads

pytestmark = pytest.mark.broker


def settings(url: str, api: str | None = None):  # type: ignore[no-untyped-def]
    return resolve(ConnectionOptions(url=url, api=api))


def test_connects(broker: str, clean_env: Path) -> None:
    connection = open_connection(settings("amqp://guest:guest@127.0.0.1:5672/%2f"))
    try:
        assert connection.is_open
    finally:
        connection.close()


def test_wrong_password(broker: str, clean_env: Path) -> None:
    with pytest.raises(AccessRefused) as info:
        open_connection(settings("amqp://guest:WrongPw99@127.0.0.1:5672/%2f"))
    assert str(info.value) == (
        "authentication refused for user 'guest' at 127.0.0.1:5672; "
        "check the user name and password (--url or the profile)"
    )
    assert info.value.exit_status == ExitStatus.UNREACHABLE


def test_unknown_vhost(broker: str, clean_env: Path, unique: str) -> None:
    with pytest.raises(AccessRefused) as info:
        open_connection(settings(f"amqp://guest:guest@127.0.0.1:5672/{unique}"))
    assert str(info.value) == (
        f"access to vhost '{unique}' refused at 127.0.0.1:5672: it does not exist or user "
        "'guest' has no permissions on it; check --vhost or the vhost in the URL path (%2f for /)"
    )


def test_refused_port(clean_env: Path) -> None:
    with pytest.raises(Unreachable) as info:
        open_connection(settings("amqp://guest:guest@127.0.0.1:1/%2f"))
    assert str(info.value) == (
        "connection refused by 127.0.0.1:1; is RabbitMQ running there? check the host and port in --url"
    )
    assert info.value.exit_status == ExitStatus.UNREACHABLE


def test_unresolvable_host(clean_env: Path) -> None:
    with pytest.raises(Unreachable) as info:
        open_connection(settings("amqp://guest:guest@nohost.invalid:5672/%2f"))
    assert str(info.value) == "cannot resolve host 'nohost.invalid'; check the host name in --url"


def test_not_amqp_port(broker: str, clean_env: Path) -> None:
    # The management HTTP port answers, but not with AMQP.
    with pytest.raises(Unreachable) as info:
        open_connection(settings("amqp://guest:guest@127.0.0.1:15672/%2f?connection_timeout=3"))
    assert "127.0.0.1:15672" in str(info.value)


def test_management_api_errors(broker: str, clean_env: Path, unique: str) -> None:
    good = settings("amqp://guest:guest@127.0.0.1:5672/%2f", api="http://127.0.0.1:15672")
    with ManagementClient(good) as api:
        assert api.get("overview")["management_version"]
        assert api.exists("vhosts", "/")
        assert not api.exists("queues", "/", unique)
        with pytest.raises(BrokerError) as info:
            api.get("queues", "/", unique)
        assert info.value.reply_code == 404
        assert str(info.value) == (
            f"GET /api/queues/%2F/{unique} failed: 404 Not Found; check the name and the vhost"
        )

    wrong = settings("amqp://guest:BadPw77@127.0.0.1:5672/%2f", api="http://127.0.0.1:15672")
    with ManagementClient(wrong) as api, pytest.raises(AccessRefused) as refused:
        api.get("overview")
    assert str(refused.value) == (
        "the management API refused the login of user 'guest'; "
        "check the user name and password (--url, --api or the profile)"
    )

    closed = settings("amqp://guest:guest@127.0.0.1:5672/%2f", api="http://127.0.0.1:1")
    with ManagementClient(closed) as api, pytest.raises(Unreachable) as unreachable:
        api.get("overview")
    assert str(unreachable.value) == (
        "cannot reach the management API at http://127.0.0.1:1: connection refused; "
        "check --api, and that the rabbitmq_management plugin is enabled"
    )


def _pools(client: ManagementClient) -> int:
    """Connection pools the client's session holds: none once it is closed."""
    adapter = client.session.get_adapter(client.base_url)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    return len(adapter.poolmanager.pools)


API_SETTINGS = settings("amqp://guest:guest@127.0.0.1:5672/%2f", api="http://127.0.0.1:15672")


def test_parallel_reads_run_side_by_side_on_clients_of_their_own(
    broker: str, clean_env: Path
) -> None:
    both = threading.Barrier(2, timeout=30)
    seen: list[ManagementClient] = []

    def together(client: ManagementClient) -> Any:
        seen.append(client)
        both.wait()  # passes only when the two reads run at once
        return client.get("vhosts")

    with ManagementClient(API_SETTINGS) as api:
        with ParallelReads(api, workers=2) as reads:
            answers = [reads.submit(together), reads.submit(together)]
            overview = reads.get("overview", params={"columns": "management_version"})
        assert all(any(v["name"] == "/" for v in read.result()) for read in answers)
        assert overview.result()["management_version"]
        assert len({id(client) for client in seen}) == 2 and api not in seen
        assert [_pools(client) for client in seen] == [0, 0]  # closed with the block
        assert api.get("vhosts")  # the caller's client is untouched


def test_parallel_reads_stop_at_the_first_failure(
    broker: str, clean_env: Path, unique: str
) -> None:
    asked = threading.Event()
    ran: list[str] = []

    def failing(client: ManagementClient) -> Any:
        asked.wait(30)  # every read below is queued by then
        return client.get("queues", "/", f"{unique}-missing")

    def counted(client: ManagementClient) -> Any:
        ran.append("read")
        return client.get("vhosts")

    with (
        ManagementClient(API_SETTINGS) as api,
        pytest.raises(BrokerError) as info,
        ParallelReads(api, workers=1) as reads,
    ):
        reads.submit(failing)
        queued = [reads.submit(counted) for _ in range(3)]
        asked.set()
    assert info.value.reply_code == 404 and ran == []
    assert all(read.cancelled() for read in queued)


def test_parallel_reads_give_up_the_reads_queued_when_the_block_raises(
    broker: str, clean_env: Path
) -> None:
    release = threading.Event()
    ran: list[str] = []

    def blocked(client: ManagementClient) -> Any:
        release.wait(30)

    def counted(client: ManagementClient) -> Any:
        ran.append("read")

    with ManagementClient(API_SETTINGS) as api:
        started = time.monotonic()
        with pytest.raises(LookupError), ParallelReads(api, workers=1) as reads:
            reads.submit(blocked)
            queued = [reads.submit(counted) for _ in range(3)]
            raise LookupError("the caller's own error")
        assert time.monotonic() - started < 5  # not held up by the blocked read
        release.set()
        assert all(read.cancelled() for read in queued)
        with pytest.raises(RuntimeError):  # the block is over
            reads.submit(counted)
    assert ran == []


def test_parallel_reads_do_not_send_a_read_asked_for_after_a_failure(
    broker: str, clean_env: Path, unique: str
) -> None:
    with (
        ManagementClient(API_SETTINGS) as api,
        pytest.raises(BrokerError),
        ParallelReads(api, workers=2) as reads,
    ):
        failed = reads.get("queues", "/", f"{unique}-missing")
        with pytest.raises(BrokerError):
            failed.result(timeout=30)
        late = reads.get("vhosts")
    assert late.cancelled()


def test_parallel_reads_raise_the_earliest_failure_asked_for(
    broker: str, clean_env: Path, unique: str
) -> None:
    # as reading one after another would: the first read's error, though the second fails first
    second_failed = threading.Event()

    def first(client: ManagementClient) -> Any:
        second_failed.wait(30)
        return client.get("queues", "/", f"{unique}-first")

    def second(client: ManagementClient) -> Any:
        try:
            return client.get("queues", "/", f"{unique}-second")
        finally:
            second_failed.set()

    with (
        ManagementClient(API_SETTINGS) as api,
        pytest.raises(BrokerError) as info,
        ParallelReads(api, workers=2) as reads,
    ):
        reads.submit(first)
        reads.submit(second)
    assert f"{unique}-first" in str(info.value)


_STUCK_READS = """
import time
from mqctl.config import ConnectionOptions, resolve
from mqctl.management import ManagementClient
from mqctl.management_reads import ParallelReads, beside
settings = resolve(ConnectionOptions(api="http://127.0.0.1:15672"), env={})
stuck = beside(lambda: time.sleep(60))
with ParallelReads(ManagementClient(settings), workers=2) as reads:
    for _ in range(4):
        reads.submit(lambda client: time.sleep(60))  # a broker that stopped answering
    print("waiting", flush=True)
"""


def test_an_interrupt_does_not_wait_for_reads_in_flight(clean_env: Path) -> None:
    # Ctrl-C while reads hang: the process ends at once (a ThreadPoolExecutor's workers would
    # hold it up until each read ended: the old facts read did, for up to 15 s)
    process = subprocess.Popen(
        [sys.executable, "-c", _STUCK_READS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "waiting\n"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - interrupted < 5
    assert process.returncode == -signal.SIGINT and err.rstrip().endswith("KeyboardInterrupt"), err


def test_api_path_encodes_each_segment_whole() -> None:
    assert api_path("queues", "/", "a/b c%ü") == "/api/queues/%2F/a%2Fb%20c%25%C3%BC"


def test_a_peer_that_never_answers_is_unreachable(clean_env: Path) -> None:
    # A TCP listener that accepts and then says nothing: the AMQP handshake times out.
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        url = f"amqp://guest:guest@127.0.0.1:{port}/%2f?connection_timeout=1"
        with pytest.raises(Unreachable) as info:
            open_connection(settings(url))
    assert str(info.value) == (
        f"no AMQP answer from 127.0.0.1:{port} within 1s; check that this is the broker's "
        "AMQP port (5672, 5671 for amqps) and that it is up"
    )

"""No part of a password ever reaches stdout or stderr (issue 19, "Secrets").

Passwords of 12 or more printable characters, written into the URL encoded or as typed (with '@',
':', '/', '#', '?', '%' and spaces), go through every connected command's error paths: a URL that
cannot be parsed, a refused port, a wrong password and an unknown vhost. No run of six characters of
the password may appear in what mqctl prints. Most runs are in-process (`mqctl.cli.main`, each with
a clean secret registry, so a run cannot pass on what an earlier one registered); a few go through
real processes and the environment.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqctl import redact
from tests.conftest import API_URL, AUTH
from tests.run import run_in_process, run_process

pytestmark = pytest.mark.broker

RUN = 6  # the shortest run of password characters that counts as a leak
SPECIALS = "@:/#?% "
NASTY = "p@ss:w/rd%41 #?&@x%zz"  # every character that breaks a URL, in one password

# Every command that connects, with the arguments it needs to get as far as connecting.
COMMANDS: dict[str, list[str]] = {
    "get": ["get", "-q", "q"],
    "consume": ["consume", "-q", "q", "-n", "1", "-t", "1"],
    "publish": ["publish", "-k", "q", "--body", "x"],
    "rpc": ["rpc", "-k", "q", "--body", "x", "-t", "1"],
    "move": ["move", "q", "--to-queue", "q2"],
    "topology plan": ["topology", "plan", "{file}"],
    "topology apply": ["topology", "apply", "{file}"],
    "topology delete": ["topology", "delete", "--yes", "{file}"],
    "topology export": ["topology", "export"],
    "topology show": ["topology", "show", "--live"],
    "list": ["list", "queues"],
    "show overview": ["show", "overview"],
    "show queue": ["show", "queue", "q"],
    "declare queue": ["declare", "queue", "q"],
    "declare exchange": ["declare", "exchange", "x", "--type", "direct"],
    "declare binding": ["declare", "binding", "--from", "x", "--to-queue", "q"],
    "delete queue": ["delete", "queue", "q"],
    "delete exchange": ["delete", "exchange", "x"],
    "delete binding": ["delete", "binding", "--from", "x", "--to-queue", "q"],
    "purge queue": ["purge", "queue", "q"],
    "close connection": ["close", "connection", "--user", "nobody", "--dry-run"],
    "health": ["health"],
    "top": ["top", "--once"],
}
PATHS = ("unparsable", "refused", "wrong password", "unknown vhost")


@dataclass(frozen=True)
class Broker:
    """Two throw-away users: `owner` gets each example's password, `other` never has it."""

    owner: str
    other: str
    refused_port: int
    topology: Path

    def set_password(self, password: str) -> None:
        response = requests.put(
            f"{API_URL}/api/users/{self.owner}",
            json={"password": password, "tags": "management"},
            auth=AUTH,
            timeout=10,
        )
        response.raise_for_status()


def free_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def broker_users(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    tag = uuid.uuid4().hex[:10]
    owner, other = f"mqctl-pw-{tag}", f"mqctl-other-{tag}"
    for name in (owner, other):
        requests.put(
            f"{API_URL}/api/users/{name}",
            json={"password": f"never-{uuid.uuid4().hex}", "tags": ""},
            auth=AUTH,
            timeout=10,
        ).raise_for_status()
    topology = tmp_path_factory.mktemp("secrets") / "t.yaml"
    topology.write_text(f"vhost: mqctl-missing-{tag}\nqueues:\n  - name: q\n", encoding="utf-8")
    yield Broker(owner, other, free_loopback_port(), topology)
    for name in (owner, other):
        requests.delete(f"{API_URL}/api/users/{name}", auth=AUTH, timeout=10)


def url_for(path: str, password: str, encoded: bool, broker: Broker) -> str:
    written = quote(password, safe="") if encoded else password
    vhost = f"mqctl-missing-{uuid.uuid4().hex[:8]}"
    if path == "unparsable":
        return f"amqp://{broker.owner}:{written}@127.0.0.1:notaport/{vhost}"
    if path == "refused":
        return f"amqp://{broker.owner}:{written}@127.0.0.1:{broker.refused_port}/{vhost}"
    user = broker.other if path == "wrong password" else broker.owner
    return f"amqp://{user}:{written}@127.0.0.1:5672/{vhost}"


def command_args(command: str, broker: Broker) -> list[str]:
    return [arg.replace("{file}", str(broker.topology)) for arg in COMMANDS[command]]


def leaks(password: str, text: str) -> list[str]:
    """Every run of RUN characters of the password found in `text` (one-character runs aside:
    '      ' says nothing about a password)."""
    runs = {password[i : i + RUN] for i in range(len(password) - RUN + 1)}
    return sorted(run for run in runs if len(set(run)) > 1 and run in text)


def run_clean(argv: list[str]) -> tuple[int, str]:
    """mqctl in this process with an empty secret registry: its exit status and all it printed."""
    redact.forget_all()
    status, out, err = run_in_process(*argv)
    return status, out + err


def check(
    broker: Broker,
    command: str,
    path: str,
    password: str,
    encoded: bool,
    via_api: bool = False,
    debug: bool = False,
) -> None:
    broker.set_password(password)
    url = url_for(path, password, encoded, broker)
    argv = [*command_args(command, broker), "--url", url]
    if via_api:
        # The management API URL may carry the credentials too, and its port may be the refused one.
        written = quote(password, safe="") if encoded else password
        port = broker.refused_port if path == "refused" else 15672
        argv += ["--api", f"http://{broker.owner}:{written}@127.0.0.1:{port}"]
    if debug:  # the traceback --debug adds must not carry the password either
        argv.append("--debug")
    status, printed = run_clean(argv)
    assert status != 0, printed  # every path fails (health speaks Nagios: 2 or 3)
    assert leaks(password, printed) == [], printed


passwords = st.lists(
    st.one_of(
        st.sampled_from(SPECIALS),
        st.characters(min_codepoint=0x21, max_codepoint=0x7E),
        st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    ),
    min_size=12,
    max_size=32,
).map("".join)


def connected_commands() -> set[str]:
    """Every command on the line that takes --url, as its words ("topology plan")."""
    from mqctl.commands.registry import COMMANDS as REGISTERED
    from mqctl.commands.registry import load

    found: set[str] = set()
    for name in REGISTERED:
        command = load(name)
        for sub, leaf in (getattr(command, "commands", None) or {None: command}).items():
            if any("--url" in getattr(param, "opts", ()) for param in leaf.params):
                found.add(f"{name} {sub}" if sub else name)
    return found


def test_every_connected_command_is_covered() -> None:
    connected = connected_commands()
    assert {"get", "topology plan"} <= connected  # the walk finds them
    missing = connected - set(COMMANDS)
    assert not missing, (
        f"commands that take --url but are not in tests/test_secrets.py COMMANDS: {missing}; "
        "add each with the arguments it needs to reach its connection"
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_and_error_path(
    clean_env: Path, broker_users: Broker, command: str, path: str
) -> None:
    for encoded in (False, True):
        check(broker_users, command, path, NASTY, encoded)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    password=passwords,
    command=st.sampled_from(sorted(COMMANDS)),
    path=st.sampled_from(PATHS),
    encoded=st.booleans(),
    via_api=st.booleans(),
    debug=st.booleans(),
)
def test_no_run_of_the_password_is_shown(
    clean_env: Path,
    broker_users: Broker,
    password: str,
    command: str,
    path: str,
    encoded: bool,
    via_api: bool,
    debug: bool,
) -> None:
    check(broker_users, command, path, password, encoded, via_api, debug)


@pytest.mark.parametrize("path", PATHS)
def test_through_a_real_process_and_the_environment(
    clean_env: Path, broker_users: Broker, path: str
) -> None:
    """MQCTL_URL in a real process: nothing registered in-process can help here."""
    password = "Env/S3cr#t?v@lue%zz x"
    broker_users.set_password(password)
    status, out, err = run_process(
        "get", "-q", "q", env={"MQCTL_URL": url_for(path, password, False, broker_users)}
    )
    assert status in (3, 4), err
    assert leaks(password, out + err) == [], err


def test_an_internal_error_with_debug_shows_a_scrubbed_traceback(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a library's exception that quotes the password, traceback and all."""
    import mqctl.messaging.consumer

    password = "Int3rnal/Secret#pw"

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"unexpected at amqp://u:{password}@h/ holding {password}")

    monkeypatch.setattr(mqctl.messaging.consumer, "open_connection", broken)
    url = f"amqp://u:{quote(password, safe='')}@127.0.0.1:5672/v"
    status, printed = run_clean(["get", "-q", "q", "--url", url, "--debug"])
    assert status == 1
    assert "Traceback (most recent call last):" in printed
    assert printed.endswith(
        "mqctl: error: internal error: RuntimeError: unexpected at amqp://u:****@h/ holding ****; "
        "please report it with the traceback above\n"
    )
    assert leaks(password, printed) == []

"""Several nodes for one connection (`--url` given several times, a profile's lists): the first
whose AMQP port answers is used, each with its own API. Local sockets stand for the nodes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqctl.cli import main
from mqctl.config import ConnectionOptions, resolve
from mqctl.errors import ConfigError, Unreachable


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections (a node that answers)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def refused_port() -> int:
    """A port nothing listens on (a stopped node): bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_first_node_that_answers_with_its_own_derived_api(
    clean_env: Path, listening: int
) -> None:
    down = refused_port()
    urls = (f"amqp://u:p@127.0.0.1:{down}/v", f"amqp://u:p@localhost:{listening}/v")
    s = resolve(ConnectionOptions(url=urls))
    assert (s.host, s.port, s.vhost, s.username) == ("localhost", listening, "v", "u")
    # Not guessed from the AMQP port: each node's API is HOST:15672.
    assert s.api_url == "http://localhost:15672"


def test_each_node_takes_the_api_given_in_its_place(clean_env: Path, listening: int) -> None:
    urls = (f"amqp://127.0.0.1:{refused_port()}/", f"amqp://127.0.0.1:{listening}/")
    apis = ("http://127.0.0.1:25672", "http://127.0.0.1:35672")
    assert resolve(ConnectionOptions(url=urls, api=apis)).api_url == "http://127.0.0.1:35672"
    with pytest.raises(ConfigError) as refused:
        resolve(ConnectionOptions(url=urls, api=apis[:1]))
    assert str(refused.value) == (
        "1 management API URLs for 2 nodes; give --api once per --url, in the same order, or not "
        "at all (each node's API is then http://HOST:15672)"
    )


def test_no_node_answers_is_unreachable_naming_each(clean_env: Path) -> None:
    ports = [refused_port(), refused_port()]
    with pytest.raises(Unreachable) as none:
        resolve(ConnectionOptions(url=tuple(f"amqp://127.0.0.1:{p}/" for p in ports)))
    assert str(none.value) == (
        f"none of the 2 nodes answers: 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}; check --url "
        "and that RabbitMQ is running on at least one of them"
    )


def test_a_profile_takes_lists(clean_env: Path, listening: int) -> None:
    path = clean_env / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "profiles:\n  prod:\n    url:\n"
        f"      - amqp://u:p@127.0.0.1:{refused_port()}/\n"
        f"      - amqp://u:p@127.0.0.1:{listening}/\n"
        "    api: [http://127.0.0.1:1, http://127.0.0.1:2]\n",
        encoding="utf-8",
    )
    s = resolve(ConnectionOptions(profile="prod"))
    assert (s.port, s.api_url) == (listening, "http://127.0.0.1:2")
    # --url wins over the profile's list; the profile's two APIs then pair with nothing
    with pytest.raises(ConfigError, match="2 management API URLs for 1 nodes"):
        resolve(ConnectionOptions(profile="prod", url=(f"amqp://127.0.0.1:{listening}/",)))
    one = ConnectionOptions(profile="prod", url=(f"amqp://127.0.0.1:{listening}/",), api=("",))
    assert resolve(one).api_url == "http://127.0.0.1:15672"


def test_several_url_flags_reach_the_resolver(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = [refused_port(), refused_port()]
    flags = [arg for p in ports for arg in ("--url", f"amqp://127.0.0.1:{p}/")]
    status = main(["get", "--queue", "q", *flags])
    assert status == 3
    assert capsys.readouterr().err == (
        f"mqctl: error: none of the 2 nodes answers: 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}; "
        "check --url and that RabbitMQ is running on at least one of them\n"
    )

"""Completion through the variables the scripts use, against the real broker, in bash, zsh and fish."""

from __future__ import annotations

import json
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.completion_helpers import (
    TEST_APP,
    Answer,
    base_env,
    candidates,
    complete,
    complete_here,
)
from tests.conftest import AMQP_URL, API_URL, AUTH
from tests.run import CONSOLE_SCRIPT

SHELLS = ["bash", "zsh", "fish"]
UNREACHABLE_API = "http://127.0.0.1:1"
# "No hang": the look-up has a 2 s deadline; a hang would be the HTTP default (15 s) or more. On
# top of 5 s, twice what starting the program costs right now (a loaded machine starts it slowly).
QUICK = 5.0
_startup: list[float] = []


def quick_limit() -> float:
    if not _startup:
        with tempfile.TemporaryDirectory() as home:
            env = base_env(Path(home))
            _startup.append(min(complete("bash", "mqctl --vh", env).seconds for _ in range(2)))
    return QUICK + 2 * _startup[0]


pytestmark = pytest.mark.broker


def _api(method: str, *segments: str, body: object = None) -> None:
    path = "/".join(quote(segment, safe="") for segment in segments)
    response = requests.request(method, f"{API_URL}/api/{path}", json=body, auth=AUTH, timeout=10)
    response.raise_for_status()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path)


@pytest.fixture
def names(broker: str, vhost: str, unique: str) -> dict[str, str]:
    """A queue and an exchange of this test's own, in its own vhost (deleted with the vhost)."""
    queue, exchange = f"{unique}-orders", f"{unique}-events"
    _api("PUT", "queues", vhost, queue, body={"durable": False})
    _api("PUT", "exchanges", vhost, exchange, body={"type": "topic", "durable": False})
    return {"vhost": vhost, "queue": queue, "exchange": exchange, "prefix": unique}


def _assert_silent(answer: Answer) -> None:
    assert (answer.stdout, answer.stderr, answer.returncode) == ("", "", 0)
    assert answer.seconds < quick_limit(), f"took {answer.seconds:.1f}s"


# --- names from the broker -------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_vhost_names(shell: str, env: dict[str, str], names: dict[str, str]) -> None:
    answer = complete(shell, f"mqctl --api {API_URL} --vhost {names['prefix']}", env)
    assert candidates(shell, answer) == [names["vhost"]]
    assert answer.stderr == ""


def test_queue_and_exchange_names_in_the_vhost_on_the_line(
    env: dict[str, str], names: dict[str, str]
) -> None:
    vhost, prefix = names["vhost"], names["prefix"]
    line = f"mqctl consume --vhost {vhost} --queue {prefix}"
    assert candidates("zsh", complete("zsh", line, env, TEST_APP)) == [names["queue"]]
    line = f"mqctl consume --vhost {vhost} --exchange {prefix}"
    assert candidates("fish", complete("fish", line, env, TEST_APP)) == [names["exchange"]]


def test_awkward_names_reach_the_shell_intact(env: dict[str, str], names: dict[str, str]) -> None:
    awkward = f"{names['prefix']}-a b$c*"
    _api("PUT", "queues", names["vhost"], awkward, body={"durable": False})
    line = f"mqctl consume --vhost {names['vhost']} --queue {names['prefix']}-a"
    # bash inserts words as they stand: they come escaped; zsh and fish quote for themselves
    assert complete("bash", line, env, TEST_APP).lines == [
        "plain",
        awkward.replace(" ", "\\ ").replace("$", "\\$").replace("*", "\\*"),
    ]
    assert candidates("fish", complete("fish", line, env, TEST_APP)) == [awkward]


def test_group_level_options_count_and_the_command_level_win(
    env: dict[str, str], names: dict[str, str]
) -> None:
    vhost, prefix = names["vhost"], names["prefix"]
    before = f"mqctl --url {AMQP_URL} --vhost {vhost} consume --queue {prefix}"
    assert candidates("bash", complete("bash", before, env, TEST_APP)) == [names["queue"]]
    # The default vhost has no such queue: the command's own --vhost / overrides the group's.
    both = f"mqctl --vhost {vhost} consume --vhost / --queue {prefix}"
    assert complete("bash", both, env, TEST_APP).stdout == ""


def test_vhost_from_the_url_and_the_environment(env: dict[str, str], names: dict[str, str]) -> None:
    vhost, prefix = names["vhost"], names["prefix"]
    url = AMQP_URL.rsplit("/", 1)[0] + "/" + quote(vhost, safe="")
    line = f"mqctl consume --url {url} --queue {prefix}"
    assert candidates("zsh", complete("zsh", line, env, TEST_APP)) == [names["queue"]]
    with_env = {**env, "MQCTL_VHOST": vhost}
    line = f"mqctl consume --queue {prefix}"
    assert candidates("fish", complete("fish", line, with_env, TEST_APP)) == [names["queue"]]


def test_profile_on_the_line_selects_broker_and_vhost(
    env: dict[str, str], names: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config" / "mqctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    url = AMQP_URL.rsplit("/", 1)[0] + "/" + quote(names["vhost"], safe="")
    config.write_text(
        f"profiles:\n  down:\n    url: {AMQP_URL}\n    api: {UNREACHABLE_API}\n"
        f"  test:\n    url: '{url}'\n    api: {API_URL}\n"
    )
    line = f"mqctl consume --profile test --queue {names['prefix']}"
    assert candidates("bash", complete("bash", line, env, TEST_APP)) == [names["queue"]]
    _assert_silent(complete("bash", line.replace("test", "down"), env, TEST_APP))
    # --profile itself completes the profile names
    assert candidates("fish", complete("fish", "mqctl --profile ", env)) == ["down", "test"]


def test_the_console_script_answers_too(env: dict[str, str], names: dict[str, str]) -> None:
    """Also with typer's bash protocol alone (COMP_WORDS and COMP_CWORD, no COMP_LINE)."""
    line = f"mqctl --vhost {names['prefix']}"
    answer = complete("bash", line, env, CONSOLE_SCRIPT, words_only=True)
    assert answer.lines == ["plain", names["vhost"]]


def test_bash_gets_urls_and_equals_signs_whole(env: dict[str, str], names: dict[str, str]) -> None:
    """Bash splits COMP_WORDS at ':' and '='; the line itself keeps `--api http://h:15672` whole,
    and bash replaces only the text after the last break, so that is what is answered."""
    vhost, prefix = names["vhost"], names["prefix"]
    url = AMQP_URL.rsplit("/", 1)[0] + "/" + quote(vhost, safe="")
    line = f"mqctl consume --url {url} --api {API_URL} --queue {prefix}-o"
    assert complete("bash", line, env, TEST_APP).lines == ["plain", names["queue"]]
    line = f"mqctl consume --vhost={vhost} --queue={prefix}-o"
    assert complete("bash", line, env, TEST_APP).lines == ["plain", names["queue"]]
    _api("PUT", "queues", vhost, f"{prefix}:v1", body={"durable": False})
    line = f"mqctl consume --vhost {vhost} --queue {prefix}:v"
    env = {**env, "MQCTL_COMPLETION_TTL": "0"}  # the queue is newer than the cached answer
    assert complete("bash", line, env, TEST_APP).lines == ["plain", "v1"]
    # zsh and fish match against the whole word
    line = f"mqctl consume --vhost={vhost} --queue={prefix}:"
    expected = [f"--queue={prefix}:v1"]
    assert candidates("zsh", complete("zsh", line, env, TEST_APP)) == expected
    assert candidates("fish", complete("fish", line, env, TEST_APP)) == expected


# --- unreachable, refused, broken: quick and silent -------------------------------------------


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", f"mqctl --api {UNREACHABLE_API} --vhost "),
        ("zsh", f"mqctl consume --api {UNREACHABLE_API} --queue "),
        ("fish", f"mqctl --api {UNREACHABLE_API} consume --exchange "),
    ],
)
def test_unreachable_api_is_quick_and_silent(shell: str, line: str, env: dict[str, str]) -> None:
    _assert_silent(complete(shell, line, env, TEST_APP))


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers: the broker hangs, not refuses."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_hanging_api_does_not_hang_completion(env: dict[str, str], silent_server: str) -> None:
    _assert_silent(complete("zsh", f"mqctl --api {silent_server} --vhost ", env))


def test_refused_password_and_unknown_vhost_are_silent(env: dict[str, str], broker: str) -> None:
    bad_password = AMQP_URL.replace("guest:guest@", "guest:wrong-password@")
    _assert_silent(complete("bash", f"mqctl --url {bad_password} --vhost ", env))
    line = f"mqctl consume --vhost no-such-vhost-{uuid.uuid4().hex} --queue "
    _assert_silent(complete("fish", line, env, TEST_APP))


@pytest.mark.parametrize(
    "profile_text",
    ["profiles: [not, a, mapping", "default: ghost\nprofiles: {}\n", "\x00\x01binary"],
    ids=["bad-yaml", "unknown-default", "binary"],
)
def test_broken_profile_files_are_silent(
    env: dict[str, str], tmp_path: Path, profile_text: str, broker: str
) -> None:
    config = tmp_path / "config" / "mqctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(profile_text)
    _assert_silent(complete("zsh", "mqctl --vhost ", env))


def test_unknown_profile_and_bad_url_are_silent(env: dict[str, str], broker: str) -> None:
    _assert_silent(complete("bash", "mqctl --profile nope --vhost ", env))
    _assert_silent(complete("bash", "mqctl --url notaurl://x --vhost ", env))


# --- the cache --------------------------------------------------------------------------------


def test_answers_are_cached_briefly_and_hold_no_password(
    env: dict[str, str], names: dict[str, str], tmp_path: Path
) -> None:
    user, password = f"{names['prefix']}-user", f"pw-{uuid.uuid4().hex}"
    _api("PUT", "users", user, body={"password": password, "tags": "management"})
    try:
        _api(
            "PUT",
            "permissions",
            names["vhost"],
            user,
            body={"configure": ".*", "write": ".*", "read": ".*"},
        )
        url = AMQP_URL.replace("guest:guest@", f"{user}:{password}@").rsplit("/", 1)[0]
        line = (
            f"mqctl consume --url {url}/{quote(names['vhost'], safe='')} --queue {names['prefix']}"
        )
        cached_env = {**env, "MQCTL_COMPLETION_TTL": "120"}
        assert candidates("bash", complete("bash", line, cached_env, TEST_APP)) == [names["queue"]]

        later = f"{names['prefix']}-later"
        _api("PUT", "queues", names["vhost"], later, body={"durable": False})
        # Within the TTL the cached answer stands; with the cache off the new queue shows.
        assert candidates("bash", complete("bash", line, cached_env, TEST_APP)) == [names["queue"]]
        uncached = {**env, "MQCTL_COMPLETION_TTL": "0"}
        fresh = candidates("bash", complete("bash", line, uncached, TEST_APP))
        assert fresh == sorted([names["queue"], later])
    finally:
        _api("DELETE", "users", user)

    files = list((tmp_path / "cache" / "mqctl").iterdir())
    assert len(files) == 1
    for path in files:
        assert password not in path.name
        text = path.read_text()
        assert password not in text
        record = json.loads(text)
        assert record["names"] == [names["queue"]]
        assert record["user"] == user
        assert path.stat().st_mode & 0o077 == 0


def test_a_down_broker_is_remembered_too(env: dict[str, str], tmp_path: Path) -> None:
    _assert_silent(complete("bash", f"mqctl --api {UNREACHABLE_API} --vhost ", env))
    [path] = (tmp_path / "cache" / "mqctl").iterdir()
    assert json.loads(path.read_text())["names"] == []


# --- the real commands, whichever there are --------------------------------------------------


def _real_commands_with(param_name: str) -> list[tuple[str, ...]]:
    import typer

    from mqctl.cli import app
    from mqctl.completion.engine import is_group
    from tests.test_help import walk

    return [
        path[1:]
        for path, command in walk(typer.main.get_command(app), ("mqctl",))
        if not is_group(command) and any(param.name == param_name for param in command.params)
    ]


@pytest.mark.parametrize("kind", ["queue", "exchange"])
def test_every_real_command_completes_names(
    kind: str,
    names: dict[str, str],
    clean_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each command of mqctl with a `--queue` (`--exchange`) option completes it from the broker."""
    commands = _real_commands_with(kind)
    assert commands, f"no command of mqctl takes --{kind}: publish/consume/get/rpc all should"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    offenders = []
    for path in commands:
        line = f"mqctl {' '.join(path)} --vhost {names['vhost']} --{kind} {names['prefix']}"
        answer = complete_here("bash", line, monkeypatch, capsys)
        if answer.lines != ["plain", names[kind]]:
            offenders.append(f"mqctl {' '.join(path)} --{kind}: {answer.stdout!r}")
    assert not offenders, offenders

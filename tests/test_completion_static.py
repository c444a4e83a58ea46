"""Completion that needs no broker: files by suffix, method names, choices, keywords, shell formats.

The protocol is driven in this process (same variables, same code, no interpreter start-up);
tests/test_completion.py drives it through subprocesses against the broker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from mqctl.cli import main
from mqctl.completion import static
from mqctl.completion.broker import with_deadline
from mqctl.completion.convention import COMPLETERS, completer_for
from mqctl.completion.items import Request
from tests.completion_app import app as fixture_app
from tests.completion_helpers import Answer, candidates, complete_here
from tests.conftest import ROOT

SHELLS = ["bash", "zsh", "fish"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    (work / "conf").mkdir(parents=True)
    for name in ("topology.yaml", "more.yml", "dump.json", "notes.txt", "amqp.pcap", "live.pcapng"):
        (work / name).write_text("x")
    for name in ("old.pcap.gz", "conf/prod.yaml", ".hidden.yaml", "with space.yml"):
        (work / name).write_text("x")
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return work


@pytest.fixture
def here(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Answer]:
    """Complete a line in this process; the test app unless another is given (None: mqctl)."""

    def run(shell: str, line: str, app: typer.Typer | None = fixture_app, **kw: str) -> Answer:
        return complete_here(shell, line, monkeypatch, capsys, app, **kw)

    return run


def test_topology_files(workdir: Path, here: Callable[..., Answer]) -> None:
    line = "mqctl topology apply "
    bash = here("bash", line)
    assert bash.lines == [
        "paths",
        "conf",
        "dump.json",
        "more.yml",
        "topology.yaml",
        "with space.yml",
    ]
    fish = here("fish", line)
    assert candidates("fish", fish) == [
        "conf/",
        "dump.json",
        "more.yml",
        "topology.yaml",
        "with space.yml",
    ]
    assert here("zsh", line).stdout == "_files -g '*.(yaml|yml|json)'\n"
    assert candidates("fish", here("fish", "mqctl topology apply conf/")) == ["conf/prod.yaml"]
    assert here("bash", "mqctl topology apply .h").lines == ["paths", ".hidden.yaml"]
    assert here("bash", "mqctl topology apply zzz").stdout == ""


def test_captures(workdir: Path, here: Callable[..., Answer]) -> None:
    fish = here("fish", "mqctl read ")
    assert candidates("fish", fish) == ["amqp.pcap", "conf/", "live.pcapng", "old.pcap.gz"]
    assert here("zsh", "mqctl read ").stdout == "_files -g '*.(pcap|pcapng|gz)'\n"


def test_a_lone_directory_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "a.yml").write_text("x")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert [i.value for i in static.list_files("dep", (".yml",))] == ["deploy/"]
    assert [i.value for i in static.list_files("~/deploy/", (".yml",))] == ["~/deploy/a.yml"]
    assert static.list_files("no-such-dir/", (".yml",)) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_method_names(shell: str, here: Callable[..., Answer]) -> None:
    assert candidates(shell, here(shell, "mqctl read x.pcap --method basic.p")) == ["Basic.Publish"]
    classes = candidates(shell, here(shell, "mqctl read x.pcap --method Ba"))
    assert classes[0] == "Basic.*"
    assert "Basic.Nack" in classes


def test_method_names_are_the_specs() -> None:
    spec_path = ROOT.parent.parent / "shared" / "spec" / "amqp-rabbitmq-0.9.1.json"
    if not spec_path.is_file():
        spec_path = ROOT.parent / "shared" / "spec" / "amqp-rabbitmq-0.9.1.json"
    spec = json.loads(spec_path.read_text())

    def camel(name: str) -> str:
        return "".join(part.capitalize() for part in name.split("-"))

    expected = {
        f"{camel(c['name'])}.{camel(m['name'])}" for c in spec["classes"] for m in c["methods"]
    }
    names = static.amqp_method_names()
    assert set(names) == expected
    assert len(names) == len(expected)
    assert {"Exchange.UnbindOk", "Connection.UpdateSecretOk", "Confirm.Select"} <= set(names)


@pytest.mark.parametrize("shell", SHELLS)
def test_choices_and_keywords(shell: str, here: Callable[..., Answer]) -> None:
    assert candidates(shell, here(shell, "mqctl topology apply t.yaml --via ")) == ["http", "amqp"]
    assert candidates(shell, here(shell, "mqctl consume --offset ")) == ["first", "last", "next"]
    assert candidates(shell, here(shell, "mqctl consume --offset l")) == ["last"]


def test_other_paths_are_left_to_the_shell(here: Callable[..., Answer]) -> None:
    for line, app in (("mqctl --ca-cert ", None), ("mqctl read x --output ", fixture_app)):
        assert here("bash", line, app).stdout == "files\n"
        assert here("zsh", line, app).stdout == "_files\n"
        is_args = here("fish", line, app, fish_action="is-args")
        assert (is_args.returncode, is_args.stdout) == (1, "")


def test_fish_asks_for_no_file_names_where_none_belong(here: Callable[..., Answer]) -> None:
    """Exit 0 from "is-args" tells fish: only our answers, even when there are none."""
    answer = here("fish", "mqctl consume --offset zzz", fish_action="is-args")
    assert (answer.returncode, answer.stdout, answer.stderr) == (0, "", "")


@pytest.mark.parametrize("shell", SHELLS)
def test_commands_and_options(shell: str, here: Callable[..., Answer]) -> None:
    assert candidates(shell, here(shell, "mqctl --show-completion ", None)) == [
        "bash",
        "zsh",
        "fish",
    ]
    assert candidates(shell, here(shell, "mqctl --vh", None)) == ["--vhost"]
    commands = candidates(shell, here(shell, "mqctl "))
    assert {"topology", "read", "consume"} <= set(commands)


def test_a_failing_completer_completes_nothing_silently(
    here: Callable[..., Answer], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(static, "amqp_method_names", explode)
    for shell in SHELLS:
        answer = here(shell, "mqctl read x.pcap --method B")
        assert (answer.stdout, answer.stderr, answer.returncode) == ("", "", 0)


def test_unknown_instruction_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_MQCTL_COMPLETE", "explode_bash")
    assert main([]) == 4
    assert capsys.readouterr().err == "unknown completion instruction 'explode_bash'\n"
    monkeypatch.setenv("_MQCTL_COMPLETE", "complete_powershell")
    assert main([]) == 4
    assert capsys.readouterr().err == "mqctl completes bash, zsh and fish, not 'powershell'\n"


# --- the convention ---------------------------------------------------------------------------


@dataclass
class PathInfo:
    file_okay: bool = True
    dir_okay: bool = True


@dataclass
class PathType:
    """How typer describes a Path-typed parameter."""

    parameter_info: PathInfo
    is_path: bool = True


@dataclass
class Param:
    """The attributes of a parameter that the convention reads."""

    name: str
    type_descriptor: object = None
    metavar: str | None = None


def test_convention_by_name_and_type() -> None:
    from mqctl.completion.engine import choices_of

    # a group: typer names no public type for it
    command: Any = typer.main.get_command(fixture_app)
    apply = command.get_command(None, "topology").get_command(None, "apply")
    by_name = {p.name: completer_for(p, ("mqctl", "topology", "apply")) for p in apply.params}
    assert by_name["file"] is static.complete_topology_files
    via = next(p for p in apply.params if p.name == "via")
    assert choices_of(via) == ["http", "amqp"]  # a choice: the engine completes its choices
    assert by_name["vhost"] is COMPLETERS["vhost"]
    consume = command.get_command(None, "consume")
    by_name = {p.name: completer_for(p, ("mqctl", "consume")) for p in consume.params}
    assert by_name["queue"] is COMPLETERS["queue"]
    assert by_name["exchange"] is COMPLETERS["exchange"]
    assert by_name["offset"] is static.complete_offsets


def test_file_outside_topology_is_not_a_topology_file() -> None:
    param = Param("file", type_descriptor=PathType(PathInfo()))
    assert completer_for(param, ("mqctl", "publish")) is static.complete_any_file
    assert completer_for(param, ("mqctl", "topology", "plan")) is static.complete_topology_files
    assert completer_for(Param("body"), ("mqctl", "publish")) is None
    assert completer_for(Param("input", metavar="FILE"), ()) is static.complete_any_file
    assert completer_for(Param("target", PathType(PathInfo(file_okay=False))), ()) is (
        static.complete_any_dir
    )


def test_deadline() -> None:
    import time

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        with_deadline(lambda: time.sleep(5) or [], 0.2)  # type: ignore[func-returns-value]
    assert time.monotonic() - started < 1
    with pytest.raises(ValueError, match="bad"):
        with_deadline(lambda: (_ for _ in ()).throw(ValueError("bad")), 1)
    assert with_deadline(lambda: ["a"], 1) == ["a"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_long_help_stays_on_one_line(shell: str, here: Callable[..., Answer]) -> None:
    answer = here(shell, "mqctl consume --ex")
    if shell == "fish":
        assert answer.lines == [
            "--exchange\tTap this exchange instead of a queue, through a temporary exclusive "
            "queue bound with a binding key; a help text long enough to wrap. Example: --exchange "
            "amq.topic"
        ]
    else:
        assert candidates(shell, answer) == ["--exchange"]
        assert len(answer.lines) == 1


def test_more_names() -> None:
    path = ("mqctl", "publish")
    assert completer_for(Param("body_file"), path) is static.complete_any_file
    assert completer_for(Param("input"), path) is static.complete_any_file
    assert completer_for(Param("in", metavar="FILE.jsonl"), path) is static.complete_any_file
    assert completer_for(Param("delivery_mode"), path) is static.complete_delivery_modes
    values = [i.value for i in static.complete_delivery_modes(Request(), "")]
    assert values == ["persistent", "transient", "2", "1"]
    interfaces = [i.value for i in static.complete_interfaces(Request(), "")]
    assert interfaces[0] == "any"
    assert "lo" in interfaces

"""Start-up stays light: building the command tree, `--version` and an option TAB load no transport,
renderer, codec table or topology engine. Every command and every completion TAB pays what the
import of mqctl.cli costs, so these modules load inside the commands that use them.

Nothing here is timed (benchmarks/bench_completion.py measures); the tests look at sys.modules
in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mqctl
import mqctl.output
import mqctl.wire

ROOT = Path(__file__).resolve().parent.parent

# Modules (and packages: any submodule counts) that must not load before a command runs.
HEAVY = (
    "pika",
    "requests",
    "urllib3",
    "rich",
    "yaml",
    "importlib.metadata",
    "mqctl.management",
    "mqctl.amqp_connection",
    "mqctl.messaging.message",
    "mqctl.messaging.properties",
    "mqctl.messaging.publisher",
    "mqctl.messaging.consumer",
    "mqctl.messaging.rpc",
    "mqctl.wire._spec",
    "mqctl.wire.decoder",
    "mqctl.wire.frames",
    "mqctl.wire.methods",
    "mqctl.wire.filters",
    "mqctl.wire.pipeline",
    "mqctl.wire.render_records",
    "mqctl.wire.proxy",
    "mqctl.wire.sniff",
    "mqctl.topology.apply",
    "mqctl.topology.model",
    "mqctl.topology.loader",
    "mqctl.topology.validate",
    "mqctl.topology.plan",
    "mqctl.topology.graph",
    "mqctl.topology.export",
)

# Runs in a fresh interpreter: does what a start does, then lists the modules loaded.
PROBE = """
import contextlib, io, json, os, sys
import typer
import mqctl.cli
step = sys.argv[1]
if step == "import":  # the whole tree, as `mqctl --help` builds it
    root = typer.main.get_command(mqctl.cli.app)
    for name in root.list_commands(None):
        root.get_command(None, name)
if step != "import":
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            status = mqctl.cli.main(sys.argv[2:])
        except SystemExit as exc:  # a completion request ends the program itself
            status = exc.code or 0
    sys.stderr.write(out.getvalue())
    if status != 0 or not out.getvalue():
        sys.exit(f"mqctl exited {status} after writing {out.getvalue()!r}")
json.dump(sorted(sys.modules), sys.stdout)
"""


def loaded_modules(step: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, step, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(result.stdout)
    return modules


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_building_the_command_tree_loads_nothing_heavy() -> None:
    modules = loaded_modules("import")
    assert "mqctl.commands.topology" in modules  # the probe did build the tree
    assert heavy_in(modules) == []


def test_version_loads_nothing_heavy() -> None:
    modules = loaded_modules("run", "--version")
    assert heavy_in(modules) == []
    assert [m for m in modules if m.startswith("mqctl.commands.")] == [
        "mqctl.commands.options",
        "mqctl.commands.registry",
    ]  # no command module: they load when the line names them
    assert [m for m in modules if m.startswith("mqctl.completion")] == []  # nor completion


def test_an_option_tab_loads_nothing_heavy(tmp_path: Path) -> None:
    env = {
        "_MQCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "mqctl consume --",
        "COMP_CWORD": "2",
        "XDG_CACHE_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    modules = loaded_modules("run", env=env)
    assert heavy_in(modules) == []
    assert "mqctl.commands.consume" in modules
    assert "mqctl.commands.topology" not in modules  # only the command on the line loads


def test_version_constant_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert mqctl.__version__ == project["version"]


@pytest.mark.parametrize("name", mqctl.wire.__all__)
def test_every_lazy_codec_name_resolves(name: str) -> None:
    """mqctl.wire's public names load on first use, each the very object of its module."""
    if name == "codec_build":
        assert mqctl.wire.codec_build() in ("mypyc", "pure-python")
        return
    home = importlib.import_module(mqctl.wire._EXPORTS[name])
    assert getattr(mqctl.wire, name) is getattr(home, name)


def test_an_unknown_codec_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = mqctl.wire.no_such_name


@pytest.mark.parametrize("name", sorted(set(mqctl.output.__all__) | set(mqctl.output._EXPORTS)))
def test_every_lazy_output_name_resolves(name: str) -> None:
    """mqctl.output's names load their module on first use, each the very object of its module."""
    assert name in mqctl.output.__all__ and name in mqctl.output._EXPORTS
    home = importlib.import_module(f"mqctl.output.{mqctl.output._EXPORTS[name]}")
    assert getattr(mqctl.output, name) is getattr(home, name)

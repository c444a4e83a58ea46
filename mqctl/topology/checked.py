"""Topology files -> the valid topology and its warnings: `validate`, with nothing of the
broker imported (the start-up of `mqctl topology validate`); mqctl.topology.run names these
too, beside the commands that talk to a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mqctl.topology.loader import Problem
from mqctl.topology.model import Topology
from mqctl.topology.references import dangling
from mqctl.topology.validate import load_topology
from mqctl.topology.versions import Version

__all__ = ["Checked", "Files", "Warn", "validate"]

# Receives each warning (a deprecated feature of the target version), located in the files.
Warn = Callable[[Problem], None]


def no_warning(problem: Problem) -> None:
    return None


@dataclass(frozen=True)
class Files:
    """Topology files to read, and where a per-vhost definitions export (no `vhost` keys) goes."""

    paths: Sequence[str | Path]
    definitions_vhost: str | None = None
    env: Mapping[str, str] | None = None
    # Where objects of a YAML file without `vhost:` go: the connection's vhost.
    connection_vhost: str = "/"
    # Every object placed at its file:line:column, also those of a JSON file (read fast, a JSON
    # file's objects carry its name alone): for plan's JSON output, which names each one's place.
    located: bool = False

    def load(self, target: Version | None = None, warn: Warn = no_warning) -> Topology:
        """The valid topology; with a `target` version, checked against it as well (what it
        deprecates goes to `warn`)."""
        warnings: list[Problem] = []
        topology = load_topology(
            self.paths,
            self.env,
            default_vhost=self.definitions_vhost,
            connection_vhost=self.connection_vhost,
            target=target,
            warnings=warnings,
            located=self.located,
        )
        for warning in warnings:
            warn(warning)
        return topology


@dataclass(frozen=True)
class Checked:
    """A valid topology, and what looks wrong in it without being invalid."""

    topology: Topology
    warnings: list[str]


def validate(files: Files, target: Version | None = None, warn: Warn = no_warning) -> Checked:
    """The merged, valid topology; raises InvalidTopology (exit 4) with every problem, including
    (with a `target` version) what that version removed or refuses. The warnings are the
    alternate and dead-letter exchanges the files name but do not declare."""
    topology = files.load(target, warn)
    return Checked(topology, dangling(topology, nowhere="not declared in the files"))

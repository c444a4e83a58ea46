"""Files -> one validated `Topology`, or every problem at once.

`load_topology()` reads every file (both formats), merges them (the same object declared twice
identically is fine; differently is an error naming both places), and applies the per-type rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mqctl.errors import BadInput
from mqctl.topology import versions
from mqctl.topology.definitions import parse_definitions
from mqctl.topology.kinds import BY_SECTION
from mqctl.topology.kinds.base import Located
from mqctl.topology.loader import Problem, from_plain, load_documents, paused_gc
from mqctl.topology.model import Loc, Queue, Topology, TopologyObject, Vhost
from mqctl.topology.parse import parse_document
from mqctl.topology.versions import Version

MAX_SHOWN = 200


class InvalidTopology(BadInput):
    """The files are invalid: every problem, one per line; exit 4, nothing applied."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [str(p) for p in self.problems[:MAX_SHOWN]]
        if count > MAX_SHOWN:
            lines.append(f"... and {count - MAX_SHOWN} more")
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"the topology is invalid ({count} {noun}); nothing was applied\n" + "\n".join(lines)
        )

    def __str__(self) -> str:
        return self.message


def check_object(obj: TopologyObject, where: Callable[[str], Loc]) -> list[Problem]:
    return BY_SECTION[obj.kind].check(obj, where)


def read_topology(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None = None,
    default_vhost: str | None = None,
    connection_vhost: str = "/",
    *,
    target: Version | None = None,
    warnings: list[Problem] | None = None,
    located: bool = False,
) -> tuple[Topology, list[Problem]]:
    """The merged topology and the problems found (an empty list means valid).

    `default_vhost` is where objects of a definitions file without `vhost` keys go;
    `connection_vhost` where those of a YAML file without `vhost:` go (the connection's). With a
    `target` version, what it removed or refuses is a problem too, and what it deprecates is
    added to `warnings`. `located`: JSON files too are read with positions at once (else their
    objects carry the file's name alone unless there is a problem to place).
    """
    with paused_gc():
        topology, problems, unlocated = _read(
            paths, env, default_vhost, connection_vhost, target, warnings, positions=located
        )
        if unlocated and (problems or warnings):
            # A file was read fast, without positions: read everything again to say where.
            if warnings is not None:
                warnings.clear()
            topology, problems, _ = _read(
                paths, env, default_vhost, connection_vhost, target, warnings, positions=True
            )
    return topology, problems


def _read(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None,
    default_vhost: str | None,
    connection_vhost: str,
    target: Version | None,
    warnings: list[Problem] | None,
    *,
    positions: bool,
) -> tuple[Topology, list[Problem], bool]:
    import os

    env = os.environ if env is None else env
    problems: list[Problem] = []
    if not paths:
        problems.append(
            Problem(Loc("<arguments>"), "no topology files given", "FILE or DIRECTORY ...")
        )
    located: list[Located] = []
    defaulted: list[TopologyObject] = []  # objects that went to connection_vhost
    documents = load_documents(paths, env, problems, positions=positions)
    for doc in documents:
        if doc.is_definitions:
            located.extend(parse_definitions(doc.data, doc.path, problems, default_vhost))
        else:
            located.extend(
                parse_document(doc.data, doc.path, env, problems, connection_vhost, defaulted)
            )
    located = _apply_default_queue_types(located)
    topology = Topology()
    for obj, where in located:
        problems.extend(check_object(obj, where))
        if target is not None:
            errors, deprecated = versions.check(obj, target, where)
            problems.extend(errors)
            if warnings is not None:
                warnings.extend(deprecated)
        existing = topology.add(obj)
        if existing is not None and existing.fields() != obj.fields():
            problems.append(
                Problem(
                    obj.loc,
                    f"{obj.title()} is declared again with other properties "
                    f"(first at {existing.loc})",
                    "one declaration, or identical ones",
                )
            )
    problems.sort(key=lambda p: (p.loc.file, p.loc.line, p.loc.column))
    if defaulted:
        topology.default_vhost = connection_vhost
    if warnings is not None:
        warnings.sort(key=lambda p: (p.loc.file, p.loc.line, p.loc.column))
    return topology, problems, not all(doc.located for doc in documents)


def read_document(data: Mapping[str, Any], source: str) -> tuple[Topology, list[Problem]]:
    """A document built in memory (keys as in a topology file, values taken literally) through
    the same parsing and per-type rules as files: `mqctl declare` builds one per object."""
    problems: list[Problem] = []
    located = _apply_default_queue_types(
        parse_document(from_plain(dict(data), source), source, {}, problems)
    )
    topology = Topology()
    for obj, where in located:
        problems.extend(check_object(obj, where))
        topology.add(obj)
    return topology, problems


def _apply_default_queue_types(located: list[Located]) -> list[Located]:
    """A queue without `type` in a vhost declared with a default_queue_type gets that type.

    An explicit `type: classic` there is sent as x-queue-type too: AMQP declares would otherwise
    get the vhost's default while the management API creates a classic queue.
    """
    defaults = {
        obj.name: obj.default_queue_type
        for obj, _ in located
        if isinstance(obj, Vhost) and obj.default_queue_type not in (None, "classic")
    }
    if not defaults:
        return located
    result: list[Located] = []
    for obj, where in located:
        if isinstance(obj, Queue) and obj.vhost in defaults and "x-queue-type" not in obj.arguments:
            # Stated explicitly either way, so every transport creates the same queue.
            qtype = "classic" if obj.type_given else defaults[obj.vhost]
            arguments = {**obj.arguments, "x-queue-type": qtype}
            obj = replace(obj, arguments=arguments, type_given=True)
        result.append((obj, where))
    return result


def load_topology(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None = None,
    default_vhost: str | None = None,
    connection_vhost: str = "/",
    *,
    target: Version | None = None,
    warnings: list[Problem] | None = None,
    located: bool = False,
) -> Topology:
    """The merged, valid topology; raises `InvalidTopology` with every problem otherwise
    (`located`: see `read_topology`)."""
    topology, problems = read_topology(
        paths,
        env,
        default_vhost,
        connection_vhost,
        target=target,
        warnings=warnings,
        located=located,
    )
    if problems:
        raise InvalidTopology(problems)
    return topology

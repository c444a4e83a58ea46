"""What each RabbitMQ version removed, refuses by default or deprecated, in one table.

`mqctl topology validate --target VERSION` checks files against it offline; `plan` and `apply` check
them against the live broker's version the same way, before anything changes. A feature the
target removed or refuses is an error (exit 4) naming what to use instead; a deprecated one that
still works is a warning.

The boundaries were measured where this project can (RabbitMQ 3.10.8 and 4.3.6: see
tests/test_topology_versions.py) and otherwise follow RabbitMQ's release notes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mqctl.errors import BadInput
from mqctl.topology.loader import Problem
from mqctl.topology.model import Exchange, Loc, Policy, Queue, TopologyObject

Version = tuple[int, ...]
Where = Callable[[str], Loc]


@dataclass(frozen=True)
class Feature:
    """A feature some versions no longer have (or do not have yet)."""

    name: str  # as messages say it: "the ha-mode policy key"
    instead: str  # what to use in its place
    deprecated_from: Version | None = None  # a warning from here on ...
    removed_from: Version | None = None  # ... an error from here on (removed or refused)
    needs: Version | None = None  # an error below this version (not there yet)

    def problem(self, target: Version, loc: Loc) -> tuple[bool, Problem] | None:
        """(is_error, problem) for a use of this feature on `target`; None when it is fine."""
        shown = ".".join(map(str, target))
        if self.needs is not None and target < self.needs:
            need = ".".join(map(str, self.needs))
            return True, Problem(
                loc, f"{self.name} needs RabbitMQ {need} or later (target {shown}); {self.instead}"
            )
        if self.removed_from is not None and target >= self.removed_from:
            since = ".".join(map(str, self.removed_from))
            return True, Problem(
                loc,
                f"{self.name} is removed or refused from RabbitMQ {since} (target {shown}); "
                f"instead: {self.instead}",
            )
        if self.deprecated_from is not None and target >= self.deprecated_from:
            since = ".".join(map(str, self.deprecated_from))
            return False, Problem(
                loc,
                f"{self.name} is deprecated from RabbitMQ {since} (target {shown}); "
                f"instead: {self.instead}",
            )
        return None


MIRRORING = Feature(
    "classic queue mirroring (the {key} policy key)",
    "quorum queues (type: quorum) or streams; drop the ha-* keys",
    deprecated_from=(3, 9),
    removed_from=(4, 0),  # 4.3.6 answers 400 "not recognised policy settings"
)
MASTER_LOCATOR = Feature(
    "{key}",
    "queue-leader-locator (x-queue-leader-locator) with client-local or balanced",
    deprecated_from=(4, 0),
    removed_from=(4, 3),  # 4.3.6 refuses it: policy 400, queue declare closes the connection
)
QUEUE_MODE = Feature(
    "{key} (lazy classic queues)",
    "nothing: classic queues keep messages on disk by themselves since 3.12; drop the key",
    deprecated_from=(3, 12),
    removed_from=(4, 0),  # accepted and ignored
)
QUEUE_VERSION_1 = Feature(
    "classic queue version 1 ({key}: 1)",
    "version 2 (drop the key, or set it to 2)",
    deprecated_from=(3, 13),
    removed_from=(4, 0),  # 4.3.6: 406 "unsupported queue version '1'"
)
TRANSIENT_QUEUE = Feature(
    "a transient (durable: false) queue that is not exclusive",
    "durable: true (with expires or auto_delete for a short-lived queue), or an exclusive "
    "queue declared by its consumer",
    deprecated_from=(4, 0),  # 4.3.6 still permits it by default
)
LOCAL_RANDOM = Feature(
    "exchange type 'x-local-random'",
    "built into RabbitMQ 4.0+, no plugin provides it before: use x-random "
    "(rabbitmq_random_exchange) or another type",
    needs=(4, 0),
)

# Per-kind finders: (feature, key) pairs for each use in an object; the key locates it in the file.
Finder = Callable[[Any], Iterable[tuple[Feature, str]]]


def _policy_uses(policy: Policy) -> Iterable[tuple[Feature, str]]:
    for key, value in policy.definition.items():
        if key.startswith("ha-"):
            yield _named(MIRRORING, key), "definition"
        elif key == "queue-master-locator":
            yield _named(MASTER_LOCATOR, "the queue-master-locator policy key"), "definition"
        elif key == "queue-mode":
            yield _named(QUEUE_MODE, "the queue-mode policy key"), "definition"
        elif key == "queue-version" and value == 1:
            yield _named(QUEUE_VERSION_1, "queue-version"), "definition"


def _queue_uses(queue: Queue) -> Iterable[tuple[Feature, str]]:
    arguments = queue.arguments
    if "x-queue-master-locator" in arguments:
        yield (
            _named(MASTER_LOCATOR, "the x-queue-master-locator argument"),
            "x-queue-master-locator",
        )
    if "x-queue-mode" in arguments:
        yield _named(QUEUE_MODE, "queue_mode (x-queue-mode)"), "x-queue-mode"
    if arguments.get("x-queue-version") == 1:
        yield _named(QUEUE_VERSION_1, "x-queue-version"), "x-queue-version"
    if not queue.durable and queue.queue_type == "classic":
        yield TRANSIENT_QUEUE, "durable"


def _exchange_uses(exchange: Exchange) -> Iterable[tuple[Feature, str]]:
    if exchange.type == "x-local-random":
        yield LOCAL_RANDOM, "type"


FINDERS: dict[type, Finder] = {Policy: _policy_uses, Queue: _queue_uses, Exchange: _exchange_uses}


def _named(feature: Feature, key: str) -> Feature:
    return Feature(
        feature.name.format(key=key),
        feature.instead,
        feature.deprecated_from,
        feature.removed_from,
        feature.needs,
    )


def uses(obj: TopologyObject) -> list[tuple[Feature, str]]:
    for kind, finder in FINDERS.items():
        if isinstance(obj, kind):  # Policy covers OperatorPolicy
            return list(finder(obj))
    return []


def check(
    obj: TopologyObject, target: Version, where: Where | None = None
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for one object on `target`; located by `where` when given."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for feature, key in uses(obj):
        found = feature.problem(target, where(key) if where else obj.loc)
        if found is not None:
            (errors if found[0] else warnings).append(found[1])
    return errors, warnings


_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> Version:
    """(4, 3, 6) of "4.3.6" (or "4.3", or a broker's "4.3.6+1.g1234"); BadInput otherwise."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise BadInput(
            f"--target {text!r} is not a RabbitMQ version", "give MAJOR.MINOR, e.g. --target 4.3"
        )
    return tuple(int(part) for part in match.groups() if part is not None)

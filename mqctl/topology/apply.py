"""Planning against a live broker, and carrying a plan out.

`make_plan()` reads the broker's state through a backend and diffs it with the desired topology.
`check_plan()` refuses, before anything changes, what would fail half-way or lose data.
`execute()` creates and updates in dependency order (vhosts and users first, bindings last) and
deletes in the reverse order.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mqctl.errors import BadInput, ExitStatus, MqctlError, OperationFailed
from mqctl.management_reads import beside
from mqctl.topology.model import (
    KINDS,
    Binding,
    Exchange,
    Parameter,
    Queue,
    Topology,
    TopologyObject,
    User,
)
from mqctl.topology.plan import Action, BrokerFacts, Change, Plan, QueueUsage, compute_plan
from mqctl.topology.recreate import temporary_for, unfinished
from mqctl.topology.references import dangling


class Backend(Protocol):
    """A way to reach the broker. It keeps nothing between calls about what it was asked:
    each call is given what it needs."""

    name: str
    lists_bindings: bool  # False over AMQP: a binding's existence cannot be read

    def facts(self, desired: Topology | None = None, *, with_users: bool = True) -> BrokerFacts:
        """What the broker can do, as far as `desired` needs to know."""
        ...

    def read_state(self, desired: Topology) -> Topology:
        """The broker's objects that `desired` is about (its vhosts, users, ...)."""
        ...

    def queue_usage(self, queues: list[Queue]) -> dict[tuple[str, ...], QueueUsage]:
        """(messages, consumers) of those of `queues` that exist, by key."""
        ...

    def bulk_create(self, objects: list[TopologyObject], *, existing: Topology) -> None:
        """Create exchanges, queues and bindings; `existing` is the state read before."""
        ...

    def put(self, obj: TopologyObject) -> None: ...

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None: ...


@dataclass(frozen=True)
class PlanOptions:
    prune: bool = False
    prune_prefix: str | None = None
    create_vhosts: bool = False
    recreate: bool = False
    allow_data_loss: bool = False  # delete queues that hold messages (--allow-data-loss)

    def __post_init__(self) -> None:
        if self.prune_prefix is not None and not self.prune:
            raise BadInput("--prune-prefix narrows --prune", "add --prune, or drop --prune-prefix")


@dataclass
class ApplyResult:
    plan: Plan
    done: dict[str, int] = field(default_factory=dict)
    recreated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.done.values())


class PlanRefused(OperationFailed):
    """The plan cannot be carried out safely; nothing was changed. Exit 1."""


def make_plan(
    backend: Backend, desired: Topology, options: PlanOptions = PlanOptions()
) -> tuple[Plan, Topology]:
    """The plan and the broker's state it was computed from."""
    # The facts and the state are independent reads: do them side by side.
    with_users = bool(desired.of(User)) or _needs_users(desired)
    facts_read = beside(lambda: backend.facts(desired, with_users=with_users))
    actual = backend.read_state(desired)
    facts = facts_read.result()
    plan = compute_plan(
        desired,
        actual,
        facts,
        prune=options.prune,
        prune_prefix=options.prune_prefix,
        create_vhosts=options.create_vhosts,
    )
    plan.default_vhost = desired.default_vhost
    plan.warnings = dangling(
        desired, actual, nowhere="neither declared in the files nor present on the broker"
    )
    for queue, temp in unfinished(desired, actual):
        held = backend.queue_usage([temp]).get(temp.key)
        plan.warnings.append(
            f"{queue.title()} was being recreated and was interrupted: "
            f"{temp.title()} {held or 'holds its messages'}; apply --recreate again to finish "
            "(it moves them back and deletes the temporary queue)"
        )
    doomed = plan.of(Action.delete, Action.conflict) if options.recreate else plan.of(Action.delete)
    add_usage(plan, backend, doomed, allow_data_loss=options.allow_data_loss)
    return plan, actual


def add_usage(
    plan: Plan, backend: Backend, changes: list[Change], *, allow_data_loss: bool
) -> None:
    """Mark each queue `changes` would delete with what it holds; unless `allow_data_loss`, a
    queue to be deleted that holds messages is a refusal (a recreated one is handled by
    check_plan, which says why)."""
    queues = [(c, c.obj) for c in changes if isinstance(c.obj, Queue)]
    if not queues:
        return
    usage = backend.queue_usage([queue for _, queue in queues])
    for change, queue in queues:
        change.usage = usage.get(queue.key)
        if (
            change.action is Action.delete
            and change.usage is not None
            and change.usage.messages
            and not allow_data_loss
        ):
            plan.refusals.append(
                f"{change.obj.title()} would be deleted but {change.usage}: deleting it loses "
                "them; consume or move them first, or pass --allow-data-loss"
            )


def _needs_users(desired: Topology) -> bool:
    return bool(desired.objects["permissions"] or desired.objects["topic_permissions"])


def refuse(plan: Plan) -> None:
    """Raise PlanRefused (exit 1, nothing changed) with every refusal of the plan, if any."""
    if plan.refusals:
        raise PlanRefused(
            f"refused before changing anything ({len(plan.refusals)} "
            f"{'reason' if len(plan.refusals) == 1 else 'reasons'}):\n  "
            + "\n  ".join(plan.refusals),
            None,
        )


def check_plan(
    plan: Plan, backend: Backend, actual: Topology, options: PlanOptions
) -> list[Change]:
    """Refuse what cannot be done safely; return the conflicting queues to recreate."""
    refuse(plan)
    if options.prune and not plan.owned_vhosts:
        raise PlanRefused(
            "--prune deletes only inside the vhosts the files own, and these files declare none",
            "declare the vhosts they own under vhosts:",
        )
    conflicts = plan.conflicts
    if not conflicts:
        return []
    if not options.recreate:
        lines = [f"{c.obj.title()}: {describe_diffs(c)}; {c.note}" for c in conflicts]
        raise PlanRefused(
            f"{len(conflicts)} {'object conflicts' if len(conflicts) == 1 else 'objects conflict'} "
            "with the broker; nothing was changed:\n  " + "\n  ".join(lines),
        )
    refusals = []
    for change in conflicts:
        obj = change.obj
        if not isinstance(obj, Queue):
            refusals.append(f"{obj.title()}: --recreate only recreates queues; {change.note}")
            continue
        if len(temporary_for(obj).name.encode()) > 255:
            refusals.append(
                f"{obj.title()}: --recreate needs a temporary queue named "
                f"{temporary_for(obj).name!r}, over AMQP's 255 bytes; recreate it by hand"
            )
        _, consumers = change.usage or (0, 0)
        if consumers:
            refusals.append(
                f"{obj.title()}: --recreate refused: it has {consumers} consumer(s), which "
                "deleting the queue would cancel; stop them first (its messages are kept)"
            )
    if refusals:
        raise PlanRefused("refused before changing anything:\n  " + "\n  ".join(refusals))
    return conflicts


def describe_diffs(change: Change) -> str:
    parts = []
    for d in change.diffs:
        if d.secret:
            parts.append(f"{d.field} differs")
        else:
            parts.append(
                f"{d.field} is {_short(d.old)} on the broker, {_short(d.new)} in the files"
            )
    return "; ".join(parts)


def _short(value: object) -> str:
    from mqctl.topology.model import canonical

    return canonical(value)


class Stopped(Exception):
    """A stop was requested (Ctrl-C or SIGTERM) between two steps of an apply."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class Tally:
    """What an apply has done so far, for the line that reports a stop midway."""

    total: int
    done: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("created", "updated", "recreated", "deleted", "redeclared"), 0
        )
    )
    importing: bool = False  # inside the bulk import: part of it may have been created

    def report(self) -> str:
        finished = sum(self.done.values())
        parts = ", ".join(f"{n} {what}" for what, n in self.done.items() if what != "redeclared")
        text = f"done: {parts}; not done: {self.total - finished} of {self.total} changes"
        if self.importing:
            text += " (the exchanges, queues and bindings being imported may exist in part)"
        return text


def execute(
    plan: Plan,
    backend: Backend,
    actual: Topology,
    recreate: list[Change],
    progress: Callable[[int], None] | None = None,
    *,
    allow_data_loss: bool = False,
    stop: Callable[[], int | None] = lambda: None,
    recreate_queue: Callable[[Queue], None] = lambda queue: None,
    finish: Sequence[Queue] = (),
    finish_queue: Callable[[Queue], None] = lambda queue: None,
) -> ApplyResult:
    """Carry out the plan: creates/updates in dependency order (parameters, which may declare
    or consume queues, after the exchanges, queues and bindings), then deletes in reverse.

    `stop()` is asked before each step; a signal number from it stops the apply there. A stop or
    a failure raises ApplyStopped, which says what was done and what was not.
    """
    creates = [c.obj for c in plan.of(Action.create)]
    ensures = [c.obj for c in plan.of(Action.ensure)]
    updates = [c.obj for c in plan.of(Action.update)]
    deletes = reversed(_ordered_changes(plan.of(Action.delete)))
    tally = Tally(
        len(creates) + len(ensures) + len(updates) + len(recreate) + len(plan.of(Action.delete))
    )
    step = progress or (lambda n: None)

    def check_stop() -> None:
        signum = stop()
        if signum is not None:
            raise Stopped(signum)

    try:
        pending = _ordered([*creates, *ensures])
        bulk_kinds = (Exchange, Queue, Binding)
        bulk: list[TopologyObject] = [obj for obj in pending if isinstance(obj, bulk_kinds)]
        single = _ordered([*(o for o in pending if not isinstance(o, bulk_kinds)), *updates])
        creating = {id(o) for o in creates}

        def put_each(objects: list[TopologyObject]) -> None:
            for obj in objects:
                check_stop()
                backend.put(obj)
                tally.done["created" if id(obj) in creating else "updated"] += 1
                step(1)

        put_each([o for o in single if not _after_routing(o)])
        if bulk:
            check_stop()
            tally.importing = True
            backend.bulk_create(_dedupe(bulk), existing=actual)
            tally.importing = False
            tally.done["created"] += sum(1 for o in bulk if id(o) in creating)
            tally.done["redeclared"] += len(ensures)
            step(len(bulk))
        # Queues to recreate keep their messages and bindings (mqctl.topology.recreate).
        for change in recreate:
            check_stop()
            assert isinstance(change.obj, Queue)
            recreate_queue(change.obj)
            tally.done["recreated"] += 1
        for queue in finish:  # recreates interrupted earlier: carried through
            check_stop()
            finish_queue(queue)
        put_each([o for o in single if _after_routing(o)])
        for change in deletes:
            check_stop()
            # A queue is deleted only while empty unless data loss was allowed: a message that
            # arrived since the plan makes the broker refuse instead of dropping it.
            backend.delete(change.obj, if_empty=not allow_data_loss)
            tally.done["deleted"] += 1
            step(1)
    except Stopped as stopped:
        raise ApplyStopped.by_signal(stopped.signum, tally) from None
    except KeyboardInterrupt:
        raise ApplyStopped.by_signal(signal.SIGINT, tally) from None
    except MqctlError as exc:
        raise ApplyStopped.by_failure(exc, tally) from None
    result = ApplyResult(plan)
    result.done = tally.done
    return result


def _after_routing(obj: TopologyObject) -> bool:
    """Parameters (shovels, federation) may declare or consume queues: they go after the
    exchanges, queues and bindings, so a shovel finds the file's stream queue, not one of its own."""
    return isinstance(obj, Parameter)


class ApplyStopped(MqctlError):
    """An apply stopped midway (a refusal, a lost connection, Ctrl-C, SIGTERM): the message says
    what was done and what was not; `mqctl topology plan` shows the rest."""

    def __init__(self, message: str, status: ExitStatus) -> None:
        super().__init__(message, "mqctl topology plan shows what is left; apply again to finish")
        self.exit_status = status

    @classmethod
    def by_signal(cls, signum: int, tally: Tally) -> ApplyStopped:
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        status = ExitStatus.TERMINATED if signum == signal.SIGTERM else ExitStatus.INTERRUPTED
        return cls(f"apply interrupted ({name}); {tally.report()}", status)

    @classmethod
    def by_failure(cls, exc: MqctlError, tally: Tally) -> ApplyStopped:
        said = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
        return cls(f"{said}; apply stopped midway; {tally.report()}", exc.exit_status)


def _dedupe(objects: Sequence[TopologyObject]) -> list[TopologyObject]:
    seen: dict[tuple[str, tuple[str, ...]], TopologyObject] = {}
    for obj in objects:
        seen.setdefault((obj.kind, obj.key), obj)
    return list(seen.values())


def _ordered(objects: list[TopologyObject]) -> list[TopologyObject]:
    rank = {cls.kind: i for i, cls in enumerate(KINDS)}
    return sorted(objects, key=lambda o: rank[o.kind])


def _ordered_changes(changes: list[Change]) -> list[Change]:
    rank = {cls.kind: i for i, cls in enumerate(KINDS)}
    return sorted(changes, key=lambda c: rank[c.obj.kind])

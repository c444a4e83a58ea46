"""One entry point per `mqctl topology` command: plain functions that tests call without typer.

Each takes typed settings (what to read, where the broker is, how to reach it) and returns a
typed result; it never prints. What must be shown midway (the plan before apply changes
anything, the question before delete) goes through the callbacks the caller passes.

`validate` and what it takes (`Files`) live in mqctl.topology.checked, which imports no broker
code (the start-up of `topology validate`); they are named here too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import FrameType

from mqctl.config import ConnectionSettings
from mqctl.errors import BadInput, ExitStatus, OperationFailed
from mqctl.topology import recreate, versions
from mqctl.topology.apply import (
    ApplyResult,
    Backend,
    PlanOptions,
    Stopped,
    check_plan,
    execute,
    make_plan,
    refuse,
)
from mqctl.topology.backends import Via, http_backend, open_backend
from mqctl.topology.checked import Checked as Checked
from mqctl.topology.checked import Files as Files
from mqctl.topology.checked import Warn as Warn
from mqctl.topology.checked import no_warning
from mqctl.topology.checked import validate as validate
from mqctl.topology.model import Queue, Topology
from mqctl.topology.plan import Action, Change, Plan, diff_fields
from mqctl.topology.references import dangling
from mqctl.topology.versions import Version

Advance = Callable[[int], None]
# Opens a progress display for the changes (none by default); entered only once changing starts.
Progress = Callable[[], AbstractContextManager[Advance]]


def _no_progress() -> AbstractContextManager[Advance]:
    return nullcontext(lambda steps: None)


@dataclass(frozen=True)
class Target:
    """The broker and the way to it."""

    settings: ConnectionSettings
    via: Via = Via.auto


def plan_status(plan: Plan) -> ExitStatus:
    """plan's exit status: 1 when apply would be refused, 2 with changes, 0 without."""
    if plan.refusals:
        return ExitStatus.FAILED
    return ExitStatus.PENDING_CHANGES if plan.has_changes else ExitStatus.OK


def plan(
    files: Files, target: Target, options: PlanOptions = PlanOptions(), warn: Warn = no_warning
) -> Plan:
    """What apply would change, field by field."""
    _refuse_what_amqp_cannot_do(target.via, options)
    desired = _load_for(files, target.via)
    _check_live_version(files, desired, target, warn)
    with open_backend(target.settings, target.via) as backend:
        result, _ = make_plan(backend, desired, options)
    return result


@dataclass
class ApplyOutcome:
    plan: Plan
    result: ApplyResult | None = None  # None: nothing was carried out (dry run, nothing to do)
    dry_run: bool = False

    @property
    def status(self) -> ExitStatus:
        return plan_status(self.plan) if self.dry_run else ExitStatus.OK


def apply(
    files: Files,
    target: Target,
    options: PlanOptions = PlanOptions(),
    *,
    dry_run: bool = False,
    show_plan: Callable[[Plan], None] = lambda plan: None,
    progress: Progress = _no_progress,
    warn: Warn = no_warning,
) -> ApplyOutcome:
    """Make the broker match the files. The plan is handed to `show_plan` before anything is
    checked or changed; refusals raise PlanRefused (exit 1) with nothing changed, and so do
    features the broker's version removed or refuses (InvalidTopology, exit 4)."""
    _refuse_what_amqp_cannot_do(target.via, options)
    desired = _load_for(files, target.via)
    _check_live_version(files, desired, target, warn)
    with open_backend(target.settings, target.via) as backend:
        result, actual = make_plan(backend, desired, options)
        show_plan(result)
        if dry_run:
            return ApplyOutcome(result, dry_run=True)
        to_recreate = check_plan(result, backend, actual, options)
        recreating = _Recreating(backend, target.settings, actual) if options.recreate else None
        interrupted = recreating.to_finish(desired, to_recreate) if recreating else []
        if not result.has_changes and not result.of(Action.ensure) and not interrupted:
            return ApplyOutcome(result)
        with progress() as advance, stop_on_signals() as stop:
            done = execute(
                result,
                backend,
                actual,
                to_recreate,
                advance,
                allow_data_loss=options.allow_data_loss,
                stop=stop,
                recreate_queue=recreating.recreate if recreating else lambda queue: None,
                finish=interrupted,
                finish_queue=recreating.finish if recreating else lambda queue: None,
            )
        if backend.lists_bindings:  # over http: what was changed is read back
            check_read_back(result, backend.read_state(desired))
        return ApplyOutcome(result, done)


def check_read_back(plan: Plan, after: Topology) -> None:
    """After applying, the objects apply created, updated or recreated must be as the files say,
    and those it deleted gone: otherwise another writer changed them in between (a concurrent
    apply of other files, say), and this apply must not report success."""
    differ = []
    for change in plan.of(Action.create, Action.update, Action.conflict):
        obj = change.obj
        have = after.get(obj.kind, obj.key)
        if have is None or diff_fields(obj, have):
            differ.append(obj.title())
    differ += [c.obj.title() for c in plan.of(Action.delete) if after.get(c.obj.kind, c.obj.key)]
    if differ:
        shown = "; ".join(differ[:5]) + (f"; and {len(differ) - 5} more" if len(differ) > 5 else "")
        raise OperationFailed(
            f"applied, but read back {len(differ)} "
            f"{'object is' if len(differ) == 1 else 'objects are'} not as the files say: another "
            f"writer changed {'it' if len(differ) == 1 else 'them'} meanwhile: {shown}",
            "mqctl topology plan shows the difference; apply again once the other writer is done",
        )


@dataclass
class DeleteOutcome:
    plan: Plan
    deleted: int = 0


def delete(
    files: Files,
    target: Target,
    *,
    show_plan: Callable[[Plan], None] = lambda plan: None,
    confirm: Callable[[Plan], bool] = lambda plan: True,
    allow_data_loss: bool = False,
) -> DeleteOutcome:
    """Remove from the broker what the files declare. The plan goes to `show_plan`, then, when
    there is something to delete, to `confirm`; a no deletes nothing and raises BadInput."""
    from mqctl.topology.remove import delete_plan, execute_delete

    desired = _load_for(files, target.via)
    with open_backend(target.settings, target.via) as backend:
        result = delete_plan(backend, desired, allow_data_loss=allow_data_loss)
        show_plan(result)
        refuse(result)
        if not result.has_changes:
            return DeleteOutcome(result)
        if not confirm(result):
            raise BadInput("not confirmed; nothing was deleted")
        deleted = execute_delete(result, backend, allow_data_loss=allow_data_loss)
        return DeleteOutcome(result, deleted)


def export(
    settings: ConnectionSettings, vhosts: list[str], *, with_users: bool = False
) -> Topology:
    """The live broker's vhosts as a self-contained topology."""
    from mqctl.topology.export import export_topology

    with http_backend(settings) as backend:
        return export_topology(backend, vhosts, with_users=with_users)


@dataclass(frozen=True)
class ShowSource:
    """What `show` draws: files, or (live) the broker's vhosts."""

    files: Files | None = None
    live: ConnectionSettings | None = None
    vhosts: list[str] = field(default_factory=list)


def show(source: ShowSource) -> Checked:
    if source.live is not None:
        topology = export(source.live, source.vhosts or [source.live.vhost])
        return Checked(topology, dangling(topology, nowhere="not on the broker"))
    if source.files is None:
        raise BadInput(
            "give topology files or --live (one of them)",
            "e.g. mqctl topology show topologies/ or --live",
        )
    return validate(source.files)


def _check_live_version(files: Files, desired: Topology, target: Target, warn: Warn) -> None:
    """The files against the broker's own version, as `validate --target` checks them: before
    anything changes. Only files that use a versioned feature are read again (to locate it)."""
    if not any(versions.uses(obj) for obj in desired):
        return
    version = live_version(target.settings, target.via)
    if version is not None:
        files.load(version, warn)


def live_version(settings: ConnectionSettings, via: Via) -> Version | None:
    """The broker's version from the management API; None over AMQP (pika's public API does not
    show the server's properties), where `validate --target` is the check."""
    if via is Via.amqp:
        return None
    from mqctl.management import ManagementClient

    with ManagementClient(settings) as client:
        overview = client.get("overview", params={"columns": "rabbitmq_version"})
    text = str(overview.get("rabbitmq_version") or "")
    try:
        return versions.parse_version(text) if text else None
    except BadInput:
        return None  # a version mqctl cannot read: nothing to check it against


class _Recreating:
    """`--recreate` with the messages: moves through mqctl.messaging.move (confirm-before-ack)."""

    def __init__(self, backend: Backend, settings: ConnectionSettings, actual: Topology) -> None:
        from mqctl.messaging.move import move_queue

        self.backend = backend
        self.settings = settings
        self.actual = actual
        self.move = move_queue

    def recreate(self, queue: Queue) -> None:
        recreate.recreate(self.backend, self.settings, self.move, queue, self.actual)

    def to_finish(self, desired: Topology, recreating: list[Change]) -> list[Queue]:
        """Interrupted recreates of queues that are not in conflict (any more)."""
        doing = {c.obj.key for c in recreating}
        return [q for q, _ in recreate.unfinished(desired, self.actual) if q.key not in doing]

    def finish(self, queue: Queue) -> None:
        bindings = recreate.resume_bindings(self.actual, queue)
        recreate.finish(self.backend, self.settings, self.move, queue, bindings)


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], int | None]]:
    """Ctrl-C and SIGTERM as a request to stop between two steps of an apply (the first one; a
    second one stops at once). Yields the check: the signal received, or None."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if received:
            raise Stopped(signum)
        received.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield lambda: received[0] if received else None
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _load_for(files: Files, via: Via) -> Topology:
    desired = files.load()
    if via is Via.amqp:
        from mqctl.topology.backends.amqp import refuse_non_amqp

        refuse_non_amqp(desired)
    return desired


def _refuse_what_amqp_cannot_do(via: Via, options: PlanOptions) -> None:
    """What AMQP cannot do: list what exists (prune), read a queue's state (recreate)."""
    if via is Via.amqp and options.prune:
        raise BadInput(
            "--prune needs --via http: AMQP cannot list what exists",
            "drop --prune or use --via http",
        )
    if via is Via.amqp and options.recreate:
        raise BadInput(
            "--recreate needs --via http: AMQP cannot read a queue's arguments to find a conflict",
            "drop --recreate or use --via http",
        )

"""Offline: the order apply carries a plan out in (a recording stand-in for the transport; the
broker tests cover what the broker does with it)."""

from __future__ import annotations

from mqctl.topology.apply import execute
from mqctl.topology.model import Binding, Exchange, Parameter, Policy, Queue, Topology, Vhost
from mqctl.topology.plan import Action, Change, Plan


class Recorder:
    """Writes down each call a backend gets: what execute asks for, in its order."""

    name = "recorder"
    lists_bindings = True

    def __init__(self) -> None:
        self.calls: list[str] = []

    def put(self, obj: object) -> None:
        self.calls.append(f"put {obj.title()}")  # type: ignore[attr-defined]

    def bulk_create(self, objects: list[object], *, existing: Topology) -> None:
        self.calls.append("import " + ", ".join(o.title() for o in objects))  # type: ignore[attr-defined]

    def delete(self, obj: object, *, if_empty: bool = False) -> None:
        self.calls.append(f"delete {obj.title()}")  # type: ignore[attr-defined]


def test_parameters_go_after_exchanges_queues_and_bindings() -> None:
    """A shovel declares its source queue when it starts: created before the file's stream
    queue, it would make a classic one (issue 15)."""
    shovel = Parameter("v", "shovel", "s", {"src-queue": "q", "dest-queue": "out"})
    objects = [
        shovel,
        Queue("v", "q", arguments={"x-queue-type": "stream"}),
        Exchange("v", "x"),
        Binding("v", "x", "q"),
        Policy("v", "p", "^q$", {"max-length": 1}),
        Vhost("v"),
    ]
    recorder = Recorder()
    execute(Plan([Change(Action.create, o) for o in objects]), recorder, Topology(), [])  # type: ignore[arg-type]
    assert recorder.calls == [
        "put vhost 'v'",
        "put policy 'p' in vhost 'v'",
        "import exchange 'x' in vhost 'v', queue 'q' in vhost 'v', binding 'x' -> queue 'q' "
        "key '' in vhost 'v'",
        "put parameter 'shovel'/'s' in vhost 'v'",
    ]


def test_deletes_go_in_reverse_with_parameters_first() -> None:
    objects = [Queue("v", "q"), Parameter("v", "shovel", "s", {}), Exchange("v", "x")]
    recorder = Recorder()
    execute(Plan([Change(Action.delete, o, o) for o in objects]), recorder, Topology(), [])  # type: ignore[arg-type]
    assert recorder.calls == [
        "delete parameter 'shovel'/'s' in vhost 'v'",
        "delete queue 'q' in vhost 'v'",
        "delete exchange 'x' in vhost 'v'",
    ]


def test_recreate_moves_the_messages_out_and_back_around_the_redeclare() -> None:
    """The order of a recreate (the broker test checks the messages by id)."""
    from mqctl.config import ConnectionOptions, resolve
    from mqctl.topology import recreate

    old = Queue("v", "q")
    new = Queue("v", "q", arguments={"x-queue-type": "quorum"})
    actual = Topology()
    for obj in (old, Binding("v", "h", "q", arguments={"x-match": "any"})):
        actual.add(obj)
    recorder = Recorder()
    moves: list[str] = []

    def move(settings: object, source: str, target: str) -> None:
        recorder.calls.append(f"move {source} -> {target}")
        moves.append(source)

    recreate.recreate(recorder, resolve(ConnectionOptions()), move, new, actual)
    binding = "key '' arguments {\"x-match\":\"any\"} in vhost 'v'"
    assert recorder.calls == [
        "put queue 'q.mqctl-recreate' in vhost 'v'",
        f"put binding 'h' -> queue 'q.mqctl-recreate' {binding}",
        f"delete binding 'h' -> queue 'q' {binding}",
        "move q -> q.mqctl-recreate",
        "delete queue 'q' in vhost 'v'",
        "put queue 'q' in vhost 'v'",
        f"put binding 'h' -> queue 'q' {binding}",
        f"delete binding 'h' -> queue 'q.mqctl-recreate' {binding}",
        "move q.mqctl-recreate -> q",
        "delete queue 'q.mqctl-recreate' in vhost 'v'",
    ]


def test_a_change_by_another_writer_after_apply_is_reported() -> None:
    """Two applies of files that disagree once both exited 0: the read-back catches the second
    writer (the broker state here is what such a writer would leave)."""
    import pytest

    from mqctl.errors import OperationFailed
    from mqctl.topology.run import check_read_back

    ours = Queue("v", "q", arguments={"x-message-ttl": 1000})
    theirs = Queue("v", "q", arguments={"x-message-ttl": 2000})
    after = Topology()
    after.add(theirs)
    plan = Plan([Change(Action.create, ours), Change(Action.create, Exchange("v", "x"))])
    with pytest.raises(OperationFailed) as info:
        check_read_back(plan, after)
    assert info.value.message == (
        "applied, but read back 2 objects are not as the files say: another writer changed them "
        "meanwhile: queue 'q' in vhost 'v'; exchange 'x' in vhost 'v'"
    )
    after.add(Exchange("v", "x"))
    mine = Topology()
    mine.add(ours)
    mine.add(Exchange("v", "x"))
    check_read_back(plan, mine)  # as the files say: no error

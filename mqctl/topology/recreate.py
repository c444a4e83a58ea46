"""`apply --recreate`: a queue whose immutable properties change is recreated with its messages.

The messages wait in a temporary queue (`NAME.mqctl-recreate`) while the queue is deleted and
declared anew; every move is confirm-before-ack (mqctl.messaging.move), so at any step each
message is in the old queue, the temporary one or the new one. The steps:

 1. declare the temporary queue (durable, classic);
 2. bind it as the queue is bound (the files' bindings and any others), so publishers keep a route;
 3. unbind the old queue: from here on new messages go to the temporary queue only;
 4. move the old queue's messages to the temporary queue;
 5. delete the old queue (empty by now; the broker's if-empty guards a classic one);
 6. declare the queue anew, with the files' properties;
 7. bind it again;
 8. unbind the temporary queue;
 9. move the messages back;
10. delete the temporary queue (if empty).

Between 2 and 3, and between 7 and 8, a message published is routed to both queues and ends up
twice in the new queue: a window of one request each, where the alternative is a window in
which messages have no route. Interrupted at any step, `plan` names the temporary queue and
`apply --recreate` carries the recreate through (`finish`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from mqctl.config import ConnectionSettings
from mqctl.errors import OperationFailed
from mqctl.topology.model import Binding, Queue, Topology, TopologyObject

SUFFIX = ".mqctl-recreate"
STEPS = (
    "declare temporary",
    "bind temporary",
    "unbind old",
    "move to temporary",
    "delete old",
    "declare new",
    "bind new",
    "unbind temporary",
    "move back",
    "delete temporary",
)


class Transport(Protocol):
    def put(self, obj: TopologyObject) -> None: ...

    def delete(self, obj: TopologyObject, *, if_empty: bool = False) -> None: ...


Mover = Callable[[ConnectionSettings, str, str], object]  # (settings of the vhost, from, to)


def temporary_for(queue: Queue) -> Queue:
    return Queue(queue.vhost, queue.name + SUFFIX, durable=True)


def after_step(step: str, queue: Queue) -> None:
    """Called after each step (tests stop a recreate here to check what an interruption leaves)."""


def bindings_of(actual: Topology, queue: Queue) -> list[Binding]:
    return [
        b
        for b in actual.of(Binding)
        if b.vhost == queue.vhost and b.destination_type == "queue" and b.destination == queue.name
    ]


def _to(binding: Binding, queue: Queue) -> Binding:
    return replace(binding, destination=queue.name)


def recreate(
    transport: Transport,
    settings: ConnectionSettings,
    move: Mover,
    new: Queue,
    actual: Topology,
) -> None:
    """Recreate `new` (which exists on the broker with other properties), keeping its messages
    and bindings; also resumes a recreate that was interrupted (the temporary queue exists)."""
    old = actual.get("queues", new.key)
    assert isinstance(old, Queue)
    temp = temporary_for(new)
    vhost_settings = replace(settings, vhost=new.vhost)
    # An interrupted run may have moved the bindings to the temporary queue already.
    bindings = _dedupe(
        [*bindings_of(actual, old), *(_to(b, old) for b in bindings_of(actual, temp))]
    )

    def step(name: str) -> None:
        after_step(name, new)

    transport.put(temp)
    step(STEPS[0])
    for b in bindings:
        transport.put(_to(b, temp))
    step(STEPS[1])
    for b in bindings:
        transport.delete(b)
    step(STEPS[2])
    move(vhost_settings, old.name, temp.name)
    step(STEPS[3])
    transport.delete(old, if_empty=True)
    step(STEPS[4])
    transport.put(new)
    step(STEPS[5])
    finish(transport, settings, move, new, bindings, started=6)


def finish(
    transport: Transport,
    settings: ConnectionSettings,
    move: Mover,
    queue: Queue,
    bindings: list[Binding],
    *,
    started: int = 6,
) -> None:
    """The second half: bind `queue`, unbind the temporary queue, move the messages back and
    delete the temporary queue. `bindings` are the queue's (to restore)."""
    temp = temporary_for(queue)
    for b in bindings:
        transport.put(_to(b, queue))
    after_step(STEPS[6], queue)
    for b in bindings:
        transport.delete(_to(b, temp))
    after_step(STEPS[7], queue)
    move(replace(settings, vhost=queue.vhost), temp.name, queue.name)
    after_step(STEPS[8], queue)
    transport.delete(temp, if_empty=True)
    after_step(STEPS[9], queue)


def unfinished(desired: Topology, actual: Topology) -> list[tuple[Queue, Queue]]:
    """(queue, its temporary queue) for each declared queue whose recreate was interrupted."""
    found = []
    for queue in desired.of(Queue):
        temp = actual.get("queues", temporary_for(queue).key)
        if isinstance(temp, Queue):
            found.append((queue, temp))
    return found


def resume_bindings(actual: Topology, queue: Queue) -> list[Binding]:
    """The bindings to restore on `queue` when finishing: the temporary queue's (the old
    queue's, moved there) and the queue's own, as one list."""
    temp = temporary_for(queue)
    return _dedupe(
        [*(_to(b, queue) for b in bindings_of(actual, temp)), *bindings_of(actual, queue)]
    )


def _dedupe(bindings: list[Binding]) -> list[Binding]:
    return list({b.key: b for b in bindings}.values())


class RecreateFailed(OperationFailed):
    """A recreate stopped; every message is in the old, the temporary or the new queue."""

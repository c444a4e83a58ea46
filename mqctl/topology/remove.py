"""`topology delete`: remove from the broker what the files declare, after showing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mqctl.topology.model import KINDS, Binding, Queue, Topology, Vhost
from mqctl.topology.plan import Action, Change, Plan

if TYPE_CHECKING:
    from mqctl.topology.apply import Backend


UNLISTED_BINDING = "AMQP cannot list bindings: unbound whether it exists or not"
WITH_ITS_VHOST = "goes with its vhost"


def delete_plan(backend: Backend, desired: Topology, *, allow_data_loss: bool = False) -> Plan:
    """A plan whose changes are the deletes of the declared objects that exist, and of every
    queue inside a vhost to be deleted (it goes with its vhost, declared or not). Each queue is
    marked with what it holds; one that holds messages is a refusal unless `allow_data_loss`."""
    from mqctl.topology.apply import add_usage

    actual = backend.read_state(desired)
    doomed_vhosts = {v.name for v in desired.of(Vhost) if actual.get("vhosts", v.key) is not None}
    changes = []
    for obj in desired:
        have = actual.get(obj.kind, obj.key)
        if have is None:
            if isinstance(obj, Binding) and not backend.lists_bindings and _ends_exist(obj, actual):
                # Unbinding what does not exist is no error for the broker: unbind them all.
                changes.append(Change(Action.delete, obj, note=UNLISTED_BINDING))
            continue
        inside_doomed = obj.vhost_name in doomed_vhosts
        changes.append(
            Change(Action.delete, obj, have, note=WITH_ITS_VHOST if inside_doomed else None)
        )
    changes.extend(
        Change(Action.delete, queue, queue, note=WITH_ITS_VHOST)
        for queue in actual.of(Queue)
        if queue.vhost in doomed_vhosts and desired.get(queue.kind, queue.key) is None
    )
    plan = Plan(changes, default_vhost=desired.default_vhost)
    add_usage(plan, backend, plan.changes, allow_data_loss=allow_data_loss)
    return plan


def _ends_exist(binding: Binding, actual: Topology) -> bool:
    """Whether a binding's exchange and queue (or exchange) exist, so that it might: built-in
    exchanges count when the other end was found (which also says the vhost is there)."""
    own = binding.own_ends()
    return bool(own) and all(actual.get(kind, (binding.vhost, name)) for kind, name in own)


def execute_delete(plan: Plan, backend: Backend, *, allow_data_loss: bool = False) -> int:
    """Delete in reverse dependency order; objects inside a deleted vhost go with it. A queue is
    deleted only while empty unless `allow_data_loss`: the broker then refuses one that received
    messages since the plan instead of dropping them."""
    rank = {cls.kind: i for i, cls in enumerate(KINDS)}
    count = 0
    for change in sorted(plan.changes, key=lambda c: rank[c.obj.kind], reverse=True):
        if change.note == WITH_ITS_VHOST:
            count += 1
            continue
        backend.delete(change.obj, if_empty=not allow_data_loss)
        count += 1
    return count

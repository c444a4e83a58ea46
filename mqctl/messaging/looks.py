"""What a look costs: `--requeue` and `move --dry-run` return every message they take.

On a classic queue a return costs nothing but the `redelivered` flag. A quorum queue counts every
return as a delivery, whether by nack or by the channel closing (x-delivery-count, on 3.x and
4.x alike, measured): with a delivery limit L, the return of a message already returned L times
dead-letters or drops it. A look cannot see a message's count before it takes it, and once taken
the message can only be acked (gone) or returned (counted), so the one safe course is to stop
before: mqctl refuses looks at a queue with a delivery limit. Streams keep their messages and
are read by offset; a look costs nothing there (and --requeue does not apply).

RabbitMQ 4.x gives every quorum queue a delivery limit of 20 unless its arguments or a policy
set one (-1: none). The queue's type, limit and the broker's version come from the management
API; when it cannot be asked, the look goes ahead and the caller says that it could not check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mqctl.config import ConnectionSettings
from mqctl.errors import MqctlError, OperationFailed

DEFAULT_QUORUM_LIMIT_4X = 20


@dataclass(frozen=True)
class LookCost:
    queue: str
    queue_type: str | None  # None: unknown (the management API could not be asked)
    delivery_limit: int | None  # None: no limit
    unknown_because: str | None = None

    @property
    def counts_returns(self) -> bool:
        return self.queue_type == "quorum" and self.delivery_limit is not None

    def refusal(self, what: str) -> OperationFailed | None:
        """The error that stops `what` (a look) before it takes anything, or None."""
        if not self.counts_returns:
            return None
        return OperationFailed(
            f"{what} would count against the delivery limit of queue {self.queue!r}: it is a "
            f"quorum queue with delivery limit {self.delivery_limit}, and each look returns "
            "every message it takes, which RabbitMQ counts as a delivery; a message looked at "
            f"{self.delivery_limit} times is dead-lettered or dropped at the next return, so "
            "mqctl does not look at this queue",
            "to read its messages without that cost, move them to a classic queue first "
            f"(mqctl move {self.queue} --to-queue COPY) and look there",
        )


def look_cost(settings: ConnectionSettings, queue: str) -> LookCost:
    """The queue's type and delivery limit, from the management API."""
    from mqctl.management import ManagementClient

    try:
        with ManagementClient(settings, timeout=10) as client:
            info = client.get("queues", settings.vhost, queue)
            version = str(client.get("overview").get("rabbitmq_version", "0"))
    except MqctlError as exc:
        return LookCost(queue, None, None, unknown_because=exc.message)
    return LookCost(queue, info.get("type"), delivery_limit(info, version))


def delivery_limit(info: dict[str, Any], version: str) -> int | None:
    """The delivery limit in force: the queue argument, else the policies', else 4.x's default."""
    if info.get("type") != "quorum":
        return None
    candidates = [
        (info.get("arguments") or {}).get("x-delivery-limit"),
        (info.get("effective_policy_definition") or {}).get("delivery-limit"),
    ]
    given = [int(value) for value in candidates if isinstance(value, int | float)]
    if given:
        limit = min(given)  # RabbitMQ takes the lower of argument and policy
    elif _major(version) >= 4:
        limit = DEFAULT_QUORUM_LIMIT_4X
    else:
        return None
    return None if limit < 0 else limit


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0

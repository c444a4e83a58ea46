"""Going on after a lost connection: on the same node again, or on the next node given.

`publish` and `consume` take a `Failover` when asked to (`--reconnect`, or several `--url`): a
connection that the broker closed as a node stopping does (320 CONNECTION_FORCED), or that was
lost under them, is opened again after a short wait, on the node after the lost one in the list
(the same node when there is one), a bounded number of times with a doubling wait. What is safe
to do again on the new connection is the session's business (`AsyncSession.on_connection_lost`):
nothing settled on one connection is ever settled on another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused, BrokerError, MqctlError, Unreachable

ATTEMPTS = 10  # connection attempts after each loss before giving up
FIRST_DELAY = 0.25  # seconds before the first attempt; doubled for each next one
MAX_DELAY = 8.0  # 10 attempts wait about 48 s in all: a node restart fits in it
# Connection closes that a stopping or restarting node sends: CONNECTION_FORCED (a shutdown, or an
# operator closing the connection) and INTERNAL_ERROR.
LOSS_REPLY_CODES = frozenset({320, 541})


def _ignore(line: str) -> None:
    pass


@dataclass(frozen=True)
class Failover:
    nodes: Sequence[ConnectionSettings]
    attempts: int = ATTEMPTS
    notify: Callable[[str], None] = _ignore  # one line per loss and per reconnection

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt` (1 for the first after a loss)."""
        return float(min(FIRST_DELAY * 2 ** (attempt - 1), MAX_DELAY))

    def node(self, lost: ConnectionSettings, attempt: int) -> ConnectionSettings:
        """The node for attempt `attempt` after losing `lost`: the ones after it, round the list."""
        index = next((i for i, node in enumerate(self.nodes) if node == lost), -1)
        return self.nodes[(index + attempt) % len(self.nodes)]


def may_reconnect(error: MqctlError) -> bool:
    """Whether a connection that failed with `error` may work when tried again: a node that went
    away or is not back yet, not a refused login or a bad vhost, which would fail again."""
    if isinstance(error, AccessRefused):
        return False
    if isinstance(error, Unreachable):
        return True
    return isinstance(error, BrokerError) and error.reply_code in LOSS_REPLY_CODES


def failover_for(
    reconnect: bool | None, nodes: Sequence[ConnectionSettings], notify: Callable[[str], None]
) -> Failover | None:
    """`--reconnect` on, or not given with several nodes: a Failover over `nodes`; else None."""
    if reconnect is False or (reconnect is None and len(nodes) < 2):
        return None
    return Failover(tuple(nodes), notify=notify)

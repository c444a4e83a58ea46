"""mqctl top: what the live view shows, read from the broker; the drawing is mqctl.output.top's.

Each refresh asks for one page of the API's pagination, sorted by the broker (`sort`,
`sort_reverse`) and pre-filtered by name: the first page is the top N whatever the broker's size,
so a refresh costs the same with 100 queues or 100,000 on mqctl's side.
"""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from mqctl.errors import BrokerError
from mqctl.management import MAX_PAGE_SIZE, ManagementClient
from mqctl.operate.columns import get_path
from mqctl.operate.kinds import KINDS
from mqctl.operate.listing import NameFilter, SortKey, sort_records
from mqctl.operate.show import node_alarms

HISTORY = 60  # samples kept per queue for the sparkline (5 minutes at the default interval)


@dataclass(frozen=True)
class View:
    name: str  # the kind (mqctl.operate.kinds) it shows
    columns: tuple[str, ...]
    sorts: tuple[str, ...]  # the columns `s` cycles through, the first the default


def _view(kind: str, leave_out: tuple[str, ...], sorts_first: tuple[str, ...]) -> View:
    """A view on a kind's default columns; `s` cycles through its figures, then the texts."""
    columns = tuple(c for c in KINDS[kind].columns if c not in leave_out)
    texts = ("name", "user", "client_properties.connection_name")
    figures = [c for c in columns if c not in ("vhost", "type", "state", "protocol", *texts)]
    ordered = [*sorts_first, *figures, *(t for t in texts if t in columns)]
    return View(kind, columns, tuple(dict.fromkeys(ordered)))


VIEWS = {
    "queues": _view("queues", ("state",), ("messages",)),
    "connections": _view("connections", ("protocol",), ("recv_oct_details.rate",)),
}


@dataclass
class TopState:
    """What the operator chose (view, sort, filter) and what was seen (depth history)."""

    view: str = "queues"
    sort: str = "messages"
    descending: bool = True
    pattern: str | None = None  # a glob on names
    vhost: str | None = None  # None: every vhost
    limit: int = 40
    interval: float = 5.0
    history: dict[tuple[str, str], deque[int]] = field(default_factory=dict)

    def next_sort(self) -> None:
        sorts = VIEWS[self.view].sorts
        index = sorts.index(self.sort) if self.sort in sorts else -1
        self.sort = sorts[(index + 1) % len(sorts)]
        self.descending = self.sort != "name"

    def switch_view(self) -> None:
        self.view = "connections" if self.view == "queues" else "queues"
        self.sort = VIEWS[self.view].sorts[0]
        self.descending = True


@dataclass
class Snapshot:
    view: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total: int  # matching objects on the broker (the rows are the first `limit`)
    alarms: list[dict[str, Any]]
    totals: dict[str, Any]
    taken: float
    sort: str
    descending: bool
    pattern: str | None
    error: str | None = None
    # per row: depth history (queues), growing, idle (messages and no consumer)
    marks: list[dict[str, Any]] = field(default_factory=list)


def take_snapshot(client: ManagementClient, state: TopState) -> Snapshot:
    view = VIEWS[state.view]
    segments = KINDS[view.name].segments(state.vhost)
    params: dict[str, Any] = {
        "page": 1,
        "page_size": max(1, min(state.limit, MAX_PAGE_SIZE)),
        "pagination": "true",
        "sort": state.sort,
        "sort_reverse": "true" if state.descending else "false",
        "columns": ",".join(view.columns),
    }
    if state.pattern:
        regex = NameFilter(state.pattern).api_regex()
        if regex is not None:
            params.update(name=regex, use_regex="true")
    overview = client.get("overview", params={"columns": "queue_totals,object_totals"}) or {}
    nodes = client.get("nodes", params={"columns": "name,running,mem_alarm,disk_free_alarm"})
    try:
        answer = client.get(*segments, params=params)
    except BrokerError as exc:
        if exc.reply_code != 400:
            raise
        answer = {"items": [], "filtered_count": 0}  # an empty list has no page 1
    if isinstance(answer, dict):
        rows = list(answer.get("items", []))
        total = int(answer.get("filtered_count", len(rows)))
    else:  # per-vhost connections are not paged: the whole list, sorted and cut here
        rows = sort_records(list(answer), SortKey(state.sort, state.descending))
    if state.pattern:
        rows = [r for r in rows if fnmatch.fnmatchcase(str(r.get("name")), state.pattern)]
    if not isinstance(answer, dict):
        total = len(rows)
        rows = rows[: state.limit]
    snapshot = Snapshot(
        view=state.view,
        columns=view.columns,
        rows=rows,
        total=total,
        alarms=node_alarms(list(nodes or [])),
        totals={**(overview.get("queue_totals") or {}), **(overview.get("object_totals") or {})},
        taken=time.time(),
        sort=state.sort,
        descending=state.descending,
        pattern=state.pattern,
    )
    snapshot.marks = [_marks(state, row) for row in rows]
    return snapshot


def _marks(state: TopState, row: dict[str, Any]) -> dict[str, Any]:
    if state.view != "queues":
        return {}
    key = (str(row.get("vhost")), str(row.get("name")))
    depth = int(row.get("messages") or 0)
    samples = state.history.setdefault(key, deque(maxlen=HISTORY))
    growing = bool(samples) and depth > samples[-1]
    samples.append(depth)
    consumers = int(row.get("consumers") or 0)
    return {"history": list(samples), "growing": growing, "idle": depth > 0 and consumers == 0}


def cell(row: dict[str, Any], column: str) -> Any:
    return get_path(row, column)


# --- keys -------------------------------------------------------------------------------------

KEYS_HELP = "q quit  c queues/connections  s sort  r reverse  / filter  space refresh"
ENTER = ("\r", "\n")
ESCAPE = "\x1b"
BACKSPACE = ("\x7f", "\b")


def handle_key(state: TopState, key: str, typing: list[str] | None) -> tuple[str, list[str] | None]:
    """What a key does: ("quit" | "refresh" | "redraw" | "none", the filter being typed).

    While a filter is typed (after `/`), keys go into it: Enter applies it (empty clears it),
    Escape drops it.
    """
    if typing is not None:
        if key in ENTER:
            state.pattern = "".join(typing) or None
            return "refresh", None
        if key == ESCAPE:
            return "redraw", None
        if key in BACKSPACE:
            return "redraw", typing[:-1]
        if key.isprintable():
            return "redraw", [*typing, key]
        return "none", typing
    if key in ("q", "Q", "\x03"):
        return "quit", None
    if key in ("c", "\t"):
        state.switch_view()
        return "refresh", None
    if key == "s":
        state.next_sort()
        return "refresh", None
    if key == "r":
        state.descending = not state.descending
        return "refresh", None
    if key == "/":
        return "redraw", []
    if key == " ":
        return "refresh", None
    return "none", None


class LiveTop:
    """The live view's controller: snapshots on demand, keys applied to the state."""

    def __init__(self, client: ManagementClient, state: TopState) -> None:
        self.client = client
        self.state = state
        self.interval = state.interval
        self.typing: list[str] | None = None
        self.last: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        from mqctl.errors import MqctlError

        try:
            self.last = take_snapshot(self.client, self.state)
        except MqctlError as exc:  # keep the last picture, say what went wrong
            if self.last is None:
                raise
            self.last.error = str(exc)
        return self.last

    def key(self, key: str) -> str:
        action, self.typing = handle_key(self.state, key, self.typing)
        return action

    def footer(self) -> str:
        if self.typing is not None:
            return "filter (glob, Enter applies, Esc cancels): " + "".join(self.typing) + "_"
        return KEYS_HELP

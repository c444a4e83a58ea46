"""The terminal side of `mqctl top`: drawing a snapshot with rich, and the live loop (rich's Live
on the alternate screen, keys read in cbreak mode).

rich rather than Textual: the view is one table redrawn every few seconds plus a handful of
single-key commands, which Live and a select() on stdin cover in ~200 lines with the dependency
mqctl already has; Textual would add a second rendering stack, an asyncio application model and
a heavier start-up (it imports far more than rich) for widgets this view does not use. Like the
rest of the mqctl.output package, this module may import rich (ruff's banned-api rule exempts it).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mqctl.errors import BadInput
from mqctl.output import color_enabled, flat_text

SPARKS = "▁▂▃▄▅▆▇█"
_WIDE = 100_000


class SnapshotLike(Protocol):
    view: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total: int
    alarms: list[dict[str, Any]]
    totals: dict[str, Any]
    taken: float
    sort: str
    descending: bool
    pattern: str | None
    error: str | None
    marks: list[dict[str, Any]]


def sparkline(samples: Sequence[int], width: int = 20) -> str:
    """Depth over time in block characters, scaled to the largest sample shown."""
    shown = list(samples)[-width:]
    if not shown:
        return ""
    top = max(shown)
    if top <= 0:
        return SPARKS[0] * len(shown)
    return "".join(
        SPARKS[min(len(SPARKS) - 1, value * (len(SPARKS) - 1) // top)] for value in shown
    )


def render(
    snapshot: SnapshotLike,
    labels: Mapping[str, str],
    cell: Callable[[dict[str, Any], str], Any],
    footer: str | None = None,
) -> RenderableType:
    parts: list[RenderableType] = [_header(snapshot)]
    for alarm in snapshot.alarms:
        parts.append(
            Text(f"ALARM {alarm.get('resource')} on {alarm.get('node')}", style="bold white on red")
        )
    if snapshot.error:
        parts.append(Text(f"error: {snapshot.error}", style="bold red"))
    parts.append(_table(snapshot, labels, cell))
    if footer is not None:
        parts.append(Text(footer, style="dim"))
    return Group(*parts)


def _header(snapshot: SnapshotLike) -> Text:
    clock = time.strftime("%H:%M:%S", time.localtime(snapshot.taken))
    order = f"{'-' if snapshot.descending else ''}{snapshot.sort}"
    text = Text(f"mqctl top: {snapshot.view}", style="bold")
    text.append(f"  sort {order}")
    if snapshot.pattern:
        text.append(f"  filter {snapshot.pattern}")
    text.append(f"  {len(snapshot.rows)} of {snapshot.total}  {clock}")
    totals = snapshot.totals
    if totals:
        text.append(
            f"\nmessages {totals.get('messages', 0)}  ready {totals.get('messages_ready', 0)}  "
            f"unacked {totals.get('messages_unacknowledged', 0)}  queues {totals.get('queues', 0)}  "
            f"connections {totals.get('connections', 0)}  consumers {totals.get('consumers', 0)}",
            style="cyan",
        )
    return text


def _table(
    snapshot: SnapshotLike,
    labels: Mapping[str, str],
    cell: Callable[[dict[str, Any], str], Any],
) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in snapshot.columns:
        numeric = column not in ("vhost", "name", "type", "user", "state")
        table.add_column(labels.get(column, column), justify="right" if numeric else "left")
    queues = snapshot.view == "queues"
    if queues:
        table.add_column("depth history")
    for index, row in enumerate(snapshot.rows):
        marks = snapshot.marks[index] if index < len(snapshot.marks) else {}
        style = "red" if marks.get("idle") else "yellow" if marks.get("growing") else ""
        cells = [Text(flat_text(cell(row, column))) for column in snapshot.columns]
        if queues:
            cells.append(Text(sparkline(marks.get("history", [])), style="green"))
        table.add_row(*cells, style=style)
    return table


def print_snapshot(
    snapshot: SnapshotLike,
    labels: Mapping[str, str],
    cell: Callable[[dict[str, Any], str], Any],
) -> None:
    """`top --once`: one snapshot on stdout; plain and unfolded into a pipe or a file."""
    color = color_enabled(sys.stdout)
    console = Console(
        file=sys.stdout,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        emoji=False,
        width=None if color else _WIDE,
    )
    console.print(render(snapshot, labels, cell))


class Controller(Protocol):
    interval: float

    def snapshot(self) -> SnapshotLike: ...

    def key(self, key: str) -> str: ...  # "quit" | "refresh" | "redraw" | "none"

    def footer(self) -> str: ...


def run_live(
    controller: Controller,
    labels: Mapping[str, str],
    cell: Callable[[dict[str, Any], str], Any],
) -> None:
    """Redraw every `interval` seconds and at once after a key, until `q` (or Ctrl-C)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput("mqctl top needs a terminal", "use mqctl top --once for one snapshot")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    console = Console(highlight=False, emoji=False)
    tty.setcbreak(fd)
    try:
        snapshot = controller.snapshot()
        with Live(
            render(snapshot, labels, cell, controller.footer()),
            console=console,
            screen=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as live:
            due = time.monotonic() + controller.interval
            while True:
                wait = max(0.0, due - time.monotonic())
                ready, _, _ = select.select([fd], [], [], wait)
                action = "refresh"
                if ready:
                    keys = os.read(fd, 32).decode("utf-8", "replace") or "q"  # "": stdin closed
                    actions = [controller.key(char) for char in keys]
                    if "quit" in actions:
                        return
                    action = next((a for a in ("refresh", "redraw") if a in actions), "none")
                if action == "refresh":
                    snapshot = controller.snapshot()
                    due = time.monotonic() + controller.interval
                if action != "none":
                    live.update(render(snapshot, labels, cell, controller.footer()), refresh=True)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

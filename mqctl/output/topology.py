"""Topology plans as diffs and routing graphs as trees, styled or plain from the same parts."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.tree import Tree

    from mqctl.topology.plan import Plan

# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.

from mqctl.output.console import (
    UNLIMITED_WIDTH,
    color_enabled,
    stdout_console,
)
from mqctl.output.documents import dumps_json

# --- topology (plan diffs, routing trees) ---------------------------------------------------

_PLAN_MARKS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "conflict": ("!", "bold red"),
    "delete": ("-", "red"),
    "ensure": ("=", "cyan"),
    "unchanged": (" ", "dim"),
}


def render_plan(plan: Plan, *, show_unchanged: bool = False) -> None:
    """A plan as a field-level diff on stdout: coloured on a terminal, plain otherwise.

    Both come from the same parts (`_plan_parts`: (text, style) pieces per line). Without colour
    (a pipe, a CI log, NO_COLOR) the pieces are written directly: a plan can have thousands of
    lines, and rich's per-line rendering would cost most of a second.
    """
    lines = _plan_parts(plan, show_unchanged)
    if not color_enabled(sys.stdout):
        sys.stdout.write("".join("".join(text for text, _ in parts) + "\n" for parts in lines))
        sys.stdout.flush()
        return
    from rich.text import Text

    console = stdout_console()
    for parts in lines:
        line = Text()
        for text, style in parts:
            line.append(text, style=style)
        console.print(line)


_Parts = list[tuple[str, str]]


def _plan_parts(plan: Plan, show_unchanged: bool) -> Iterator[_Parts]:
    """The lines of a plan, each as (text, style) pieces."""
    for heading in plan.header():
        yield [(heading, "dim")]
    for change in plan.changes:
        action = str(change.action)
        if action == "unchanged" and not show_unchanged:
            continue
        mark, style = _PLAN_MARKS.get(action, ("?", ""))
        line = [(f"{mark} {action:<9} ", style), (change.obj.title(), "")]
        if change.usage is not None:  # a queue to be deleted or recreated: what it holds
            line.append((f" ({change.usage})", "bold" if change.usage.messages else ""))
        yield line
        for diff in change.diffs:
            shown = diff.to_json()  # a secret's values are "(hidden)"
            yield [
                (f"      {shown['field']}: ", "bold"),
                (dumps_json(shown["old"]), "red"),
                (" (broker) -> ", ""),
                (dumps_json(shown["new"]), "green"),
                (" (files)", ""),
            ]
        if change.note and action == "conflict":
            yield [(f"      {change.note}", "italic")]
    for note in _shared_notes(plan):
        yield [(note, "italic")]
    for refusal in plan.refusals:
        yield [(f"x refused   {refusal}", "bold red")]
    yield [(_plan_summary(plan.counts()), "bold")]


def _shared_notes(plan: Plan) -> list[str]:
    """The reasons given for re-declares and deletes, once per reason rather than once per
    object: a plan of thousands of bindings would otherwise repeat a line thousands of times."""
    counts: dict[tuple[str, str], int] = {}
    for change in plan.changes:
        action = str(change.action)
        if action in ("ensure", "delete") and change.note:
            key = (action, change.note)
            counts[key] = counts.get(key, 0) + 1
    return [
        f"{_PLAN_MARKS[action][0]} {action} ({count} {'object' if count == 1 else 'objects'}): "
        f"{note}"
        for (action, note), count in counts.items()
    ]


def _plan_summary(summary: Mapping[str, int]) -> str:
    parts = [
        f"{summary['create']} to create",
        f"{summary['update']} to update",
        f"{summary['conflict']} in conflict",
        f"{summary['delete']} to delete",
        f"{summary['unchanged']} unchanged",
    ]
    if summary.get("ensure"):
        parts.append(f"{summary['ensure']} to re-declare")
    return "Plan: " + ", ".join(parts) + "."


def render_tree(title: str, branches: Sequence[Mapping[str, Any]]) -> None:
    """A routing graph: each branch {"label", "children": [...]} nested as a tree."""
    from rich.text import Text
    from rich.tree import Tree

    root = Tree(Text(title, style="bold"))

    def grow(node: Tree, items: Sequence[Mapping[str, Any]]) -> None:
        for item in items:
            child = node.add(Text(item["label"], style=item.get("style", "")))
            grow(child, item.get("children", []))

    grow(root, branches)
    console = stdout_console()
    if not color_enabled(sys.stdout):
        # On a terminal the tree fits the window; into a file or a pipe no label is cut off.
        console.width = UNLIMITED_WIDTH
    console.print(root)

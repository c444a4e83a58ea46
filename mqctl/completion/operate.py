"""Completion for the operate commands: KIND names, columns (comma-separated, dotted), sort
columns (`-` for descending) and health check names. All offline and fast."""

from __future__ import annotations

from mqctl.completion.items import Candidate, Request


def complete_kinds(request: Request, incomplete: str) -> list[Candidate]:
    from mqctl.operate.kinds import KIND_NAMES

    return [Candidate(name) for name in KIND_NAMES if name.startswith(incomplete)]


def _columns_of(request: Request) -> list[str]:
    """The default columns of the kind on the line (`top`: queues' and connections'; no kind
    yet: every kind's). Any other field the API has may be typed; these are the common ones."""
    from mqctl.operate.kinds import KINDS

    if "top" in request.path:
        kinds = [KINDS["queues"], KINDS["connections"]]
    else:
        kind = KINDS.get(str(request.given.get("kind") or ""))
        kinds = [kind] if kind else list(KINDS.values())
    return list(dict.fromkeys(column for kind in kinds for column in kind.columns))


def complete_columns(request: Request, incomplete: str) -> list[Candidate]:
    """The last of a comma-separated list, each candidate with the columns typed before it."""
    head, comma, last = incomplete.rpartition(",")
    prefix = head + comma
    taken = set(head.split(",")) if head else set()
    names = [c for c in _columns_of(request) if c not in taken]
    if not head:
        names.append("all")
    return [Candidate(prefix + name) for name in names if name.startswith(last)]


def complete_sort_columns(request: Request, incomplete: str) -> list[Candidate]:
    sign = "-" if incomplete.startswith("-") else ""
    typed = incomplete.removeprefix("-")
    return [Candidate(sign + name) for name in _columns_of(request) if name.startswith(typed)]


def complete_checks(request: Request, incomplete: str) -> list[Candidate]:
    from mqctl.operate.health import CHECK_NAMES

    return [Candidate(name) for name in CHECK_NAMES if name.startswith(incomplete)]

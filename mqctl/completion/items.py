"""What completers take and give: the line so far, and the candidates they offer.

Completers are plain functions `(request, incomplete) -> [Candidate]` and must never raise: a
completer that fails completes nothing (the protocol guards too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Candidate types. FILE and DIR ask the shell to complete file names itself; LISTED_DIR is a
# directory in a listing made here (its value ends in "/"); PLAIN is a word to insert.
PLAIN = "plain"
FILE = "file"
DIR = "dir"
LISTED_DIR = "listed-dir"


@dataclass(frozen=True)
class Candidate:
    value: str
    help: str | None = None
    type: str = PLAIN
    glob: str | None = None  # files listed by suffix: the pattern for zsh's `_files -g`


@dataclass(frozen=True)
class Request:
    """The line so far: the command's path (`("mqctl", "topology", "plan")`) and the option
    values typed, by parameter name, the command's own over those given before its name."""

    path: tuple[str, ...] = ()
    given: Mapping[str, Any] = field(default_factory=dict)


Completer = Callable[[Request, str], list[Candidate]]

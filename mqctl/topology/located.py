"""Values read from a topology file that remember where they were written."""

from __future__ import annotations

from typing import Any

from mqctl.topology.model import Loc


class LMap(dict[str, Any]):
    """A mapping that remembers its own location and those of its keys and values.

    Positions are kept as (line, column) pairs and made into `Loc`s only when asked for: a large
    file has tens of thousands of them and few are ever reported. Slots, and no call of
    dict.__init__ (dict.__new__ made it empty): a large file makes one per entry.
    """

    __slots__ = ("key_pos", "loc", "raw", "value_pos")

    def __init__(self, loc: Loc) -> None:
        self.loc = loc
        self.key_pos: dict[str, tuple[int, int]] = {}
        self.value_pos: dict[str, tuple[int, int]] = {}
        # Plain scalars YAML 1.1 typed (0x10, 12:30, 017, 1.10, 2024-01-01) as written, so that a
        # name or key is never rewritten: only for values that did not stay text.
        self.raw: dict[str, str] = {}

    def key_loc(self, key: str) -> Loc:
        pos = self.key_pos.get(key)
        return Loc(self.loc.file, *pos) if pos else self.loc

    def loc_of(self, key: str) -> Loc:
        pos = self.value_pos.get(key) or self.key_pos.get(key)
        return Loc(self.loc.file, *pos) if pos else self.loc


def item_loc(seq: list[Any], index: int, fallback: Loc) -> Loc:
    """Where item `index` of a list was written: a plain list (JSON read without positions)
    has only its file, `fallback`."""
    return seq.loc_of(index) if isinstance(seq, LList) else fallback


class LList(list[Any]):
    """A list that remembers its own location and those of its items."""

    __slots__ = ("loc", "pos")

    def __init__(self, loc: Loc) -> None:
        self.loc = loc
        self.pos: list[tuple[int, int]] = []

    def loc_of(self, index: int) -> Loc:
        if index < len(self.pos):
            return Loc(self.loc.file, *self.pos[index])
        return self.loc

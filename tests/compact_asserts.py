"""Short explanations of failing comparisons of large values (issue 16: a failing test's output in
CI stays readable). pytest prints every line of its diff when CI is set, whatever its truncation
settings: one failing comparison of two 1 MB payloads printed 7 MB (bytes) to 12 MB (JSON). Past LARGE characters of repr, a comparison is
explained here instead: the sizes, where the values first differ, and a window around that place.
(pytest still computes its own diff beside this one, which it then does not print: a list of a
million items takes it minutes.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LARGE = 4_000  # characters of repr: past this, pytest's own diff is not shown
WINDOW = 32  # items either side of the first difference
SHOWN = 80  # characters of each value on the summary line
WINDOW_SHOWN = 600  # characters of each window
KEYS = 5  # differing keys of a mapping explained


def short(value: Any, limit: int = SHOWN) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def explain_equality(left: Any, right: Any) -> list[str] | None:
    """The lines of an `==` failure's explanation, or None for values small enough for pytest."""
    if len(repr(left)) <= LARGE and len(repr(right)) <= LARGE:
        return None
    return [f"{short(left)} == {short(right)}", *_difference(left, right, "")]


def _difference(left: Any, right: Any, where: str) -> list[str]:
    sequences = (str, bytes, bytearray, list, tuple)
    if isinstance(left, sequences) and type(left) is type(right):
        return _sequence_difference(left, right, where)
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return _mapping_difference(left, right, where)
    return [
        f"{where or 'the values'}: {type(left).__name__} {short(left)} "
        f"vs {type(right).__name__} {short(right)}"
    ]


def _sequence_difference(left: Any, right: Any, where: str) -> list[str]:
    kind = type(left).__name__
    lines = [f"{where or 'the values'}: {kind} of {len(left):,} vs {len(right):,} items"]
    first = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
        min(len(left), len(right)),
    )
    start, stop = max(0, first - WINDOW), first + WINDOW
    lines.append(f"first difference at index {first:,}; [{start:,}:{stop:,}] of each:")
    lines.append(f"  left:  {short(left[start:stop], WINDOW_SHOWN)}")
    lines.append(f"  right: {short(right[start:stop], WINDOW_SHOWN)}")
    return lines


def _mapping_difference(left: Mapping[Any, Any], right: Mapping[Any, Any], where: str) -> list[str]:
    lines = []
    name = where or "the mapping"
    only_left = [k for k in left if k not in right]
    only_right = [k for k in right if k not in left]
    if only_left:
        lines.append(f"{name}: keys only on the left: {short(only_left, 200)}")
    if only_right:
        lines.append(f"{name}: keys only on the right: {short(only_right, 200)}")
    differing = [k for k in left if k in right and left[k] != right[k]]
    for key in differing[:KEYS]:
        lines.extend(_difference(left[key], right[key], f"{where}[{key!r}]"))
    if len(differing) > KEYS:
        lines.append(f"{name}: {len(differing) - KEYS} more keys differ")
    return lines

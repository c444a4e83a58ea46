"""Reading one located mapping field by field, collecting a problem for each bad value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mqctl.topology.loader import LMap, Problem, item_loc
from mqctl.topology.model import Loc

# Stating an argument's AMQP type where YAML cannot: `x-priority: {amqp_type: long, value: "5"}`.
AMQP_TYPES = {
    "string": str,
    "longstr": str,
    "long": int,
    "longlong": int,
    "int": int,
    "short": int,
    "byte": int,
    "float": float,
    "double": float,
    "bool": bool,
}
_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "longlong": (-(2**63), 2**63 - 1),
}


class Fields:
    """A mapping being read: unknown keys are reported once, each getter reports its own value."""

    def __init__(
        self, data: LMap, what: str, allowed: Iterable[str], problems: list[Problem]
    ) -> None:
        self.data = data
        self.what = what
        self.problems = problems
        if not isinstance(allowed, frozenset | set):
            allowed = frozenset(allowed)
        if allowed.issuperset(data):
            return  # the common case, without a loop over the keys
        for key in data:
            if key not in allowed:
                problems.append(
                    Problem(
                        data.key_loc(key),
                        f"unknown key {key!r} in {what}",
                        ", ".join(sorted(allowed)),
                    )
                )

    def loc(self, key: str) -> Loc:
        return self.data.loc_of(key)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def bad(self, key: str, message: str, allowed: str | None = None) -> None:
        self.problems.append(Problem(self.loc(key), message, allowed))

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if type(value) is str:
            return value  # the common case first
        if value is None:
            if required:
                self.problems.append(
                    Problem(self.data.loc, f"{self.what} has no {key!r}", f"{key}: <text>")
                )
            return default
        if isinstance(value, str):
            return value
        raw = self.data.raw.get(key)
        if isinstance(value, bool) or raw is None:
            self.bad(key, f"{key} must be a text, not {_describe(value)}", "a text (quote it)")
            return default
        return raw  # a number or date as written: `name: 0x10` is the queue "0x10", never 16

    def name(self, key: str = "name") -> str:
        value = self.text(key, required=True)
        if value == "":
            self.bad(key, f"{key} is empty", "a name of at least one character")
        return value if value is not None else ""

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.bad(key, f"{key} must be true or false, not {_describe(value)}", "true, false")
            return default
        return value

    def number(
        self, key: str, default: int | None = None, minimum: int | None = None
    ) -> int | None:
        if not self.has(key):
            return default
        value = self.data[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (minimum is not None and value < minimum)
            or not _fits_64_bits(value)
        ):
            low = f" from {minimum}" if minimum is not None else ""
            self.bad(
                key,
                f"{key} must be a whole number{low}, not {_describe(value)}",
                f"a whole number{low}",
            )
            return default
        return value

    def mapping(self, key: str) -> LMap:
        if key not in self.data:
            return LMap(self.data.loc)
        if self.data[key] is None:
            return LMap(self.loc(key))
        value = self.data[key]
        if not isinstance(value, LMap):
            self.bad(key, f"{key} must be a mapping, not {_describe(value)}", "key: value pairs")
            return LMap(self.loc(key))
        return value

    def arguments(self, key: str) -> dict[str, Any]:
        """A mapping of arguments (x-arguments, a policy's definition) as JSON values."""
        if key not in self.data:
            return {}  # the common case, without building an empty mapping to read
        return plain_arguments(self.mapping(key), self.problems)

    def text_list(self, key: str) -> tuple[str, ...]:
        """A list of texts, or one comma-separated text (as RabbitMQ's tags are written)."""
        if not self.has(key):
            return ()
        value = self.data[key]
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        self.bad(key, f"{key} must be a list of texts", "[a, b] or 'a,b'")
        return ()


def items(data: Any, key: str, loc: Loc, problems: list[Problem]) -> list[LMap]:
    """The mappings of a top-level section; problems for anything else (placed only then: a
    large section has tens of thousands of entries)."""
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(loc, f"{key} must be a list", f"{key}: [- name: ...]"))
        return []
    result = []
    for index, item in enumerate(data):
        if not isinstance(item, LMap):
            problems.append(
                Problem(
                    item_loc(data, index, loc),
                    f"each entry of {key} must be a mapping, not {_describe(item)}",
                )
            )
            continue
        result.append(item)
    return result


def plain_arguments(args: LMap, problems: list[Problem]) -> dict[str, Any]:
    """An `arguments` mapping as JSON values, resolving `{amqp_type: T, value: V}` entries."""
    result: dict[str, Any] = {}
    for key in args:
        result[key] = typed_at(args, key, problems)
    return result


def typed_at(mapping: LMap, key: str, problems: list[Problem]) -> Any:
    """`typed_value` of `mapping[key]` (None when absent), placed where the mapping has it only
    when there is something to check: most values are plain, and placing one makes a `Loc`."""
    value = mapping.get(key)
    kind: type[Any] = type(value)
    if kind is str or kind is bool or kind is float or value is None:
        return value  # as typed_value returns them, without the checks
    if kind is int and _fits_64_bits(value):
        return value
    return typed_value(value, mapping.loc_of(key), problems)


def typed_value(value: Any, loc: Loc, problems: list[Problem]) -> Any:
    if isinstance(value, LMap) and set(value) == {"amqp_type", "value"}:
        kind = value["amqp_type"]
        target = AMQP_TYPES.get(kind) if isinstance(kind, str) else None
        if target is None:
            problems.append(
                Problem(
                    value.loc_of("amqp_type"), f"unknown amqp_type {kind!r}", ", ".join(AMQP_TYPES)
                )
            )
            return value["value"]
        raw = value["value"]
        try:
            if target is bool:
                if isinstance(raw, bool):
                    return raw
                if str(raw).lower() in ("true", "false"):
                    return str(raw).lower() == "true"
                raise ValueError(raw)
            converted = target(raw)
        except (TypeError, ValueError):
            problems.append(
                Problem(value.loc_of("value"), f"{raw!r} is not a {kind}", f"a {kind} value")
            )
            return raw
        low_high = _INT_RANGES.get(kind)
        if low_high and not low_high[0] <= converted <= low_high[1]:
            problems.append(
                Problem(
                    value.loc_of("value"),
                    f"{raw!r} does not fit a {kind}",
                    f"{low_high[0]}..{low_high[1]}",
                )
            )
        return converted
    if isinstance(value, LMap):
        return {key: typed_at(value, key, problems) for key in value}
    if isinstance(value, list):
        return [
            typed_value(item, item_loc(value, i, loc), problems) for i, item in enumerate(value)
        ]
    if isinstance(value, int) and not isinstance(value, bool) and not _fits_64_bits(value):
        problems.append(Problem(loc, f"{value} does not fit in 64 bits", LONG_RANGE))
        return value
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


LONG_RANGE = f"a whole number from {-(2**63)} to {2**63 - 1}"


def _fits_64_bits(value: int) -> bool:
    """What the broker keeps of a number: AMQP's longest integer, signed 64 bits (the API
    would turn a larger one into a float, which plans as unchanged against the integer)."""
    return (
        -(2**63) <= value < 2**63
    )  # dates and the like: as text, the way the management API would take them


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)

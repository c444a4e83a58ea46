"""Method and property lookup tables from the generated spec: by id, by name, with argument types.

method_spec("Basic.Publish").arguments[1].amqp_type   # 'shortstr'
METHODS_BY_ID[(60, 40)].name                          # 'Basic.Publish'
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mqctl.wire import _spec
from mqctl.wire.values import EncodeError

__all__ = [
    "CLASS_NAMES",
    "METHODS",
    "METHODS_BY_ID",
    "METHODS_BY_KEY",
    "METHODS_BY_NAME",
    "PROPERTIES",
    "REPLY_CODES",
    "ArgumentSpec",
    "MethodSpec",
    "PropertySpec",
    "method_key",
    "method_name",
    "method_spec",
]


class ArgumentSpec(NamedTuple):
    """One method argument: Python name (``routing_key``), spec name, AMQP type, spec domain."""

    name: str
    spec_name: str
    amqp_type: str  # octet short long longlong timestamp shortstr longstr bit table
    domain: str
    default: Any


class MethodSpec(NamedTuple):
    """One AMQP method: ids, ``Class.Method`` name, flags and its arguments in wire order."""

    class_id: int
    method_id: int
    name: str
    synchronous: bool
    content: bool
    arguments: tuple[ArgumentSpec, ...]

    @property
    def key(self) -> int:
        """``(class_id << 16) | method_id``: the first four payload bytes as one big-endian int."""
        return (self.class_id << 16) | self.method_id

    @property
    def defaults(self) -> dict[str, Any]:
        """Argument values used by the encoder when an argument is not given."""
        return {arg.name: arg.default for arg in self.arguments}


class PropertySpec(NamedTuple):
    """One content property of a class: names, AMQP type and its bit in the property flags."""

    class_id: int
    name: str
    spec_name: str
    amqp_type: str
    flag: int


def method_key(class_id: int, method_id: int) -> int:
    return (class_id << 16) | method_id


METHODS: tuple[MethodSpec, ...] = tuple(
    MethodSpec(cid, mid, name, sync, content, tuple(ArgumentSpec(*arg) for arg in args))
    for cid, mid, name, sync, content, args in _spec.METHOD_TABLE
)
METHODS_BY_ID: dict[tuple[int, int], MethodSpec] = {(m.class_id, m.method_id): m for m in METHODS}
METHODS_BY_KEY: dict[int, MethodSpec] = {m.key: m for m in METHODS}
METHODS_BY_NAME: dict[str, MethodSpec] = {m.name: m for m in METHODS}
#: ``Class.Method`` name per method key; the decoder's hot path uses this directly
NAMES_BY_KEY: dict[int, str] = {m.key: m.name for m in METHODS}
CLASS_NAMES: dict[int, str] = dict(_spec.CLASSES)
PROPERTIES: dict[int, tuple[PropertySpec, ...]] = {}
for _row in _spec.PROPERTY_TABLE:
    _prop = PropertySpec(*_row)
    PROPERTIES[_prop.class_id] = (*PROPERTIES.get(_prop.class_id, ()), _prop)
REPLY_CODES: dict[int, str] = dict(_spec.REPLY_CODES)

_LOWER_NAMES = {name.lower(): spec for name, spec in METHODS_BY_NAME.items()}


def method_name(class_id: int, method_id: int) -> str:
    """``Basic.Publish``; ``Unknown(99.5)`` (or ``Basic.Unknown(99)``) for ids not in the spec."""
    name = NAMES_BY_KEY.get((class_id << 16) | method_id)
    if name is not None:
        return name
    class_name = CLASS_NAMES.get(class_id)
    if class_name is None:
        return f"Unknown({class_id}.{method_id})"
    return f"{class_name}.Unknown({method_id})"


def method_spec(name: str) -> MethodSpec:
    """The spec of a method named ``Basic.Publish`` (``basic.publish`` works too)."""
    spec = METHODS_BY_NAME.get(name) or _LOWER_NAMES.get(name.lower())
    if spec is None:
        raise EncodeError(f"unknown AMQP method {name!r}", "use a name such as 'Basic.Publish'")
    return spec

"""`--match NAME=VALUE`: which messages a move takes, by routing key, property or header.

NAME is `routing_key`, a basic property (`content_type`, `type`, `message_id`, ...) or
`headers.KEY`; VALUE is compared with the value's text (a string as it is, anything else as the
JSON `consume` prints for it, so `headers.x-retry=3` and `priority=5` read naturally). Every
condition must hold. A message that does not match stays where it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mqctl.errors import BadInput
from mqctl.jsonvalues import to_json
from mqctl.messaging.codec import PROPERTY_NAMES

_NAMES = ("routing_key", *(name for name in PROPERTY_NAMES if name != "headers"))


@dataclass(frozen=True)
class MessageMatch:
    conditions: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, specs: Sequence[str]) -> MessageMatch | None:
        conditions = []
        for spec in specs:
            name, sep, value = spec.partition("=")
            name = name.strip()
            valid = name in _NAMES or (name.startswith("headers.") and len(name) > 8)
            if not sep or not valid:
                raise BadInput(
                    f"--match {spec!r}: expected NAME=VALUE with NAME routing_key, a property "
                    f"or headers.KEY",
                    "e.g. --match headers.x-tenant=acme --match type=order.created",
                )
            conditions.append((name, value))
        return cls(tuple(conditions)) if conditions else None

    def accepts(self, routing_key: str, properties: Any) -> bool:
        for name, wanted in self.conditions:
            if name == "routing_key":
                value: Any = routing_key
            elif name.startswith("headers."):
                headers = properties.headers or {}
                key = name[len("headers.") :]
                if key not in headers:
                    return False
                value = headers[key]
            else:
                value = getattr(properties, name, None)
                if value is None:
                    return False
            if value_text(value) != wanted:
                return False
        return True


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(to_json(value), ensure_ascii=False, sort_keys=True)

"""Message properties and typed headers: from flags, JSON and `--header` specs to validated values.

Everything is checked here, before a connection is opened, so that bad input publishes nothing:
priority 0..255, delivery mode 1/2/transient/persistent, expiration a number of milliseconds,
short strings at most 255 bytes, header values of a type AMQP can carry.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika.spec

from mqctl.errors import BadInput
from mqctl.jsonvalues import (
    INT_TYPES,
    Float32,
    from_typed_json,
    iso_utc,
    parse_decimal,
    parse_timestamp,
    to_typed_json,
)
from mqctl.messaging.choices import HEADER_TYPES
from mqctl.messaging.codec import BASIC, PROPERTY_NAMES, TypedBasicProperties
from mqctl.wire.methods import PROPERTIES
from mqctl.wire.values import CodecError, encode_table

SHORT_STRING_PROPERTIES = tuple(p.name for p in PROPERTIES[BASIC] if p.amqp_type == "shortstr")
DELIVERY_MODES = {"1": 1, "2": 2, "transient": 1, "persistent": 2}


@dataclass(frozen=True)
class PropertyOptions:
    """The property flags as typed on the command line; None when not given."""

    content_type: str | None = None
    content_encoding: str | None = None
    delivery_mode: str | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None
    message_id: str | None = None
    timestamp: str | None = None
    type: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    cluster_id: str | None = None
    headers: Sequence[str] = field(default_factory=tuple)
    properties_json: str | None = None


def properties_from_options(options: PropertyOptions) -> dict[str, Any]:
    """The properties the flags set (after `--properties-json`, which they override)."""
    props = load_properties_json(options.properties_json) if options.properties_json else {}
    for name in PROPERTY_NAMES:
        if name == "headers":
            continue
        value = getattr(options, name)
        if value is not None:
            props[name] = validate_property(name, value, f"--{name.replace('_', '-')}")
    if options.headers:
        headers = dict(props.get("headers") or {})
        headers.update(parse_header(spec) for spec in options.headers)
        props["headers"] = validate_property("headers", headers, "--header")
    return props


def load_properties_json(source: str) -> dict[str, Any]:
    """`--properties-json`: inline JSON when it starts with '{', otherwise a file holding it."""
    text = source
    where = "--properties-json"
    if not source.lstrip().startswith("{"):
        path = Path(source).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"--properties-json: cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                "give a JSON object inline ('{\"priority\": 5}') or the path of a file holding one",
            ) from None
        where = f"--properties-json {path}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            'give an object such as {"content_type": "application/json", "priority": 5}',
        ) from None
    return properties_from_json(data, where)


def properties_from_json(data: Any, where: str) -> dict[str, Any]:
    """A properties object (the shape `consume --format jsonl` prints) -> validated values."""
    if not isinstance(data, Mapping):
        raise BadInput(f"{where}: properties must be a JSON object", "see `mqctl publish --help`")
    props: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in PROPERTY_NAMES:
            raise BadInput(
                f"{where}: unknown property {key!r}", f"known: {', '.join(PROPERTY_NAMES)}"
            )
        if value is None:
            continue
        if name == "headers":
            if not isinstance(value, Mapping):
                raise BadInput(f"{where}: headers must be a JSON object", 'e.g. {"x-retry": 3}')
            try:
                value = {str(k): from_typed_json(v) for k, v in value.items()}
            except ValueError as exc:
                raise BadInput(f"{where}: header {exc}", "see `mqctl publish --help`") from None
        props[name] = validate_property(name, value, f"{where}: {name}")
    return props


def validate_property(name: str, value: Any, where: str) -> Any:
    """The wire value of one property, or BadInput saying what is wrong with it."""
    if name in SHORT_STRING_PROPERTIES:
        if not isinstance(value, str):
            raise BadInput(f"{where}: expected a string, got {json.dumps(value)}", "quote it")
        if len(value.encode("utf-8")) > 255:
            raise BadInput(f"{where}: longer than 255 bytes", "AMQP short strings hold 255 bytes")
        if name == "expiration" and not value.isdigit():
            raise BadInput(
                f"{where}: {value!r} is not a number of milliseconds", "e.g. --expiration 60000"
            )
        return value
    if name == "delivery_mode":
        mode = DELIVERY_MODES.get(str(value).strip().lower())
        if mode is None or isinstance(value, bool):
            raise BadInput(
                f"{where}: {value!r} is not a delivery mode", "use 1, 2, transient or persistent"
            )
        return mode
    if name == "priority":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise BadInput(f"{where}: {value!r} is not a number", "use 0..255") from None
        if isinstance(value, bool) or not 0 <= number <= 255:
            raise BadInput(f"{where}: priority {value!r} is out of range", "use 0..255")
        return number
    if name == "timestamp":
        try:
            if isinstance(value, Mapping) and set(value) == {"timestamp"}:
                value = value["timestamp"]
            stamp = parse_timestamp(value)
        except (ValueError, OverflowError, OSError, TypeError):
            raise BadInput(
                f"{where}: {value!r} is not a timestamp",
                "use epoch seconds, ISO 8601 (2024-01-02T03:04:05Z) or now",
            ) from None
        if stamp.timestamp() < 0:
            raise BadInput(f"{where}: timestamps before 1970 cannot be sent", "use a later time")
        return int(stamp.timestamp())
    if name == "headers":
        try:
            encode_table(value)
        except (CodecError, ValueError, TypeError) as exc:
            raise BadInput(
                f"{where}: {exc}", "see `mqctl publish --help` for header types"
            ) from None
        return dict(value)
    raise BadInput(f"{where}: unknown property {name!r}")


def parse_header(spec: str) -> tuple[str, Any]:
    """`KEY=VALUE` (VALUE read as JSON when it parses, else a string) or `KEY:TYPE=VALUE`."""
    key, sep, raw = spec.partition("=")
    if not sep or not key:
        raise BadInput(
            f"--header {spec!r}: expected KEY=VALUE or KEY:TYPE=VALUE",
            "e.g. --header x-retry=3 or --header sent:timestamp=now",
        )
    name, colon, kind = key.rpartition(":")
    if not colon or kind not in HEADER_TYPES:
        if colon and kind and kind.isalnum() and kind.lower() == kind and name:
            raise BadInput(
                f"--header {spec!r}: unknown type {kind!r}", f"types: {', '.join(HEADER_TYPES)}"
            )
        return key, _json_or_string(raw, spec)
    try:
        return name, typed_header_value(kind, raw)
    except ValueError as exc:
        raise BadInput(f"--header {spec!r}: {exc}", f"give a valid {kind}") from None


def typed_header_value(kind: str, raw: str) -> Any:
    """The value of `KEY:TYPE=VALUE`; ValueError when VALUE is not a TYPE."""
    if kind == "string":
        return raw
    if kind == "json":
        try:
            return from_typed_json(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{raw!r} is not true or false")
        return lowered in ("true", "1", "yes")
    if kind == "bytes":
        try:
            return base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise ValueError(f"{raw[:20]!r} is not base64") from None
    if kind == "timestamp":
        return parse_timestamp(raw)
    if kind == "decimal":
        return parse_decimal(raw)
    if kind in ("float", "double"):
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        return Float32(number) if kind == "float" else number
    if kind == "void":
        if raw:
            raise ValueError("void takes no value (write KEY:void=)")
        return None
    try:
        number = int(raw.strip(), 0)
    except ValueError:
        raise ValueError(f"{raw!r} is not an integer") from None
    return INT_TYPES[kind](number)


def _json_or_string(raw: str, spec: str) -> Any:
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return raw
    try:
        return from_typed_json(parsed)
    except ValueError as exc:
        raise BadInput(f"--header {spec!r}: {exc}", "or use KEY:string=VALUE for text") from None


def basic_properties(props: Mapping[str, Any]) -> TypedBasicProperties:
    """pika properties (with the lossless header codec) from validated values."""
    return TypedBasicProperties(**{name: props.get(name) for name in PROPERTY_NAMES})


def properties_to_json(props: pika.spec.BasicProperties) -> dict[str, Any]:
    """Every property that is set, as JSON: timestamp ISO 8601, headers typed (lossless)."""
    result: dict[str, Any] = {}
    for name in PROPERTY_NAMES:
        value = getattr(props, name, None)
        if value is None:
            continue
        if name == "headers":
            result[name] = {str(k): to_typed_json(v) for k, v in value.items()}
        elif name == "timestamp":
            result[name] = iso_utc(parse_timestamp(int(value)))
        else:
            result[name] = value
    return result

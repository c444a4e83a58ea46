"""The JSON-lines message shape shared by `consume --format jsonl` and `publish --input`.

One object per message:

    {"exchange": "orders", "routing_key": "order.created", "redelivered": false,
     "delivery_tag": 1, "properties": {...every property that is set...},
     "body": "text when UTF-8", "body_encoding": "base64" (only when the body is not UTF-8)}

Headers use the typed mapping of `mqctl.jsonvalues` (timestamps, decimals, byte arrays, sized
integers and 32-bit floats as one-key markers), so a saved queue replays exactly.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika.spec

from mqctl.errors import BadInput
from mqctl.messaging.codec import TypedBasicProperties
from mqctl.messaging.properties import basic_properties, properties_from_json, properties_to_json

RECORD_FIELDS = (
    "exchange",
    "routing_key",
    "redelivered",
    "delivery_tag",
    "properties",
    "body",
    "body_encoding",
)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    exchange: str
    routing_key: str
    properties: TypedBasicProperties
    body: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message as the broker handed it over (basic.deliver or basic.get-ok)."""

    exchange: str
    routing_key: str
    redelivered: bool
    delivery_tag: int
    properties: pika.spec.BasicProperties
    body: bytes

    @classmethod
    def from_method(
        cls, method: Any, properties: pika.spec.BasicProperties, body: bytes
    ) -> Delivery:
        """From a Basic.Deliver or Basic.GetOk method frame's method."""
        return cls(
            method.exchange,
            method.routing_key,
            method.redelivered,
            method.delivery_tag,
            properties,
            body,
        )


def delivery_record(delivery: Delivery) -> dict[str, Any]:
    """The JSON object `consume --format jsonl` prints for a delivery."""
    record: dict[str, Any] = {
        "exchange": delivery.exchange,
        "routing_key": delivery.routing_key,
        "redelivered": delivery.redelivered,
        "delivery_tag": delivery.delivery_tag,
        "properties": properties_to_json(delivery.properties),
    }
    record.update(body_fields(delivery.body))
    return record


def body_fields(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


class OutputFailed(Exception):
    """Writing messages out failed after `written` of the batch had been written and flushed."""

    def __init__(self, written: int, cause: OSError) -> None:
        super().__init__(str(cause))
        self.written = written
        self.cause = cause

    @property
    def broken_pipe(self) -> bool:
        return isinstance(self.cause, BrokenPipeError)


@dataclass(frozen=True)
class Overrides:
    """What the command line sets for every message read from `--input` (None: keep the line's)."""

    exchange: str | None = None
    routing_key: str | None = None
    properties: Mapping[str, Any] | None = None


def message_from_record(record: Any, where: str, overrides: Overrides) -> OutgoingMessage:
    """One `--input` line (already parsed) -> a validated message; flags win over the line."""
    if not isinstance(record, Mapping):
        raise BadInput(f"{where}: expected a JSON object", "one message object per line")
    unknown = set(record) - set(RECORD_FIELDS)
    if unknown:
        raise BadInput(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}",
            f"known: {', '.join(RECORD_FIELDS)}",
        )
    exchange = (
        _string(record, "exchange", where) if overrides.exchange is None else overrides.exchange
    )
    routing_key = (
        _string(record, "routing_key", where)
        if overrides.routing_key is None
        else overrides.routing_key
    )
    props = properties_from_json(record.get("properties") or {}, f"{where}: properties")
    if overrides.properties:
        extra = dict(overrides.properties)
        if "headers" in extra and "headers" in props:
            extra["headers"] = {**props["headers"], **extra["headers"]}
        props.update(extra)
    return OutgoingMessage(exchange, routing_key, basic_properties(props), _body(record, where))


def _string(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise BadInput(f"{where}: {key} must be a string", f'e.g. "{key}": "orders"')
    return value


def _body(record: Mapping[str, Any], where: str) -> bytes:
    body = record.get("body", "")
    encoding = record.get("body_encoding")
    if not isinstance(body, str):
        raise BadInput(f"{where}: body must be a string", 'use "body_encoding": "base64" for bytes')
    if encoding in (None, "utf-8", "utf8"):
        return body.encode("utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadInput(f"{where}: body is not valid base64", "check body_encoding") from None
    raise BadInput(f"{where}: unknown body_encoding {encoding!r}", "use base64, or leave it out")


def read_body(text: str | None, path: str | None, b64: str | None) -> bytes:
    """The body from --body, --body-file or --body-base64 (at most one), else standard input."""
    given = [
        name
        for name, value in (("--body", text), ("--body-file", path), ("--body-base64", b64))
        if value is not None
    ]
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)} were both given", "give the body one way")
    if text is not None:
        return text.encode("utf-8")
    if path is not None:
        try:
            return sys.stdin.buffer.read() if path == "-" else Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise BadInput(
                f"--body-file: cannot read {path}: {exc.strerror}", "check the path"
            ) from None
    if b64 is not None:
        try:
            return base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise BadInput(
                "--body-base64: not valid base64", "e.g. --body-base64 aGVsbG8="
            ) from None
    return sys.stdin.buffer.read()

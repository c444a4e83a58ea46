"""`--format jsonl`: one JSON object per AMQP frame (and per problem) — a contract for scripts.

Every record: `ts` (capture time, seconds since the epoch), `conn` (the connection's number),
`src`, `dst` (`ip:port`, IPv6 as `[addr]:port`), `channel`, `type`, `size` (the frame's payload
size from its header).

- `protocol-header`: `protocol` (`AMQP 0-9-1`, or what the 8 bytes are instead); channel 0, size 8.
- `method`: `class_id`, `method_id`, `method` (`Basic.Publish`), `args` (every argument).
- `header`: `class_id`, `body_size`, `properties` (only the properties that are set).
- `body`: `preview` (up to 64 characters of the body, UTF-8, undecodable bytes escaped) and, with
  `--body full`, `body` as `{"bytes": "<base64>"}`; `--body none` leaves both out.
- `heartbeat`: nothing more.
- `gap` (bytes missing from the capture) and `error` (bytes skipped to resynchronise, a bad frame
  end, a frame cut off at the end, undecodable arguments): `reason`, `kind`, `offset` (stream
  offset in that direction); `size` is the number of bytes lost or skipped; channel 0.

Secrets never appear: the password in Connection.StartOk's PLAIN `response` (the user stays),
any other StartOk/SecureOk `response` and Connection.UpdateSecret's `new_secret` are replaced by
`****`.

A method whose arguments do not decode keeps its record with `args: null` and an `error` reason;
likewise a header's `properties`. Values follow `mqctl.jsonvalues` (timestamps as ISO 8601 UTC,
decimals as strings, byte arrays as `{"bytes": "<base64>"}`).
"""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from typing import Any

from mqctl.jsonvalues import to_json
from mqctl.redact import MASK
from mqctl.wire.frames import (
    GAP,
    BodyFrame,
    DecodeProblem,
    FrameError,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
)
from mqctl.wire.pipeline import Record

PREVIEW_CHARS = 64


class BodyMode(StrEnum):
    none = "none"
    preview = "preview"
    full = "full"


def preview(payload: bytes | memoryview, limit: int = PREVIEW_CHARS) -> str:
    """The start of a body as text: UTF-8 where it decodes, `\\xNN` escapes where it does not."""
    head = bytes(payload[: limit * 4])
    text = head.decode("utf-8", errors="backslashreplace")
    if len(text) > limit:
        text = text[:limit]
    return text


# Arguments that carry credentials, by method key ((class_id << 16) | method_id).
SECRET_ARGUMENTS = {
    (10 << 16) | 11: "response",
    (10 << 16) | 21: "response",
    (10 << 16) | 70: "new_secret",
}


def redact_args(frame: MethodFrame, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments with credentials masked (a PLAIN response keeps its user name)."""
    name = SECRET_ARGUMENTS.get((frame.class_id << 16) | frame.method_id)
    if name is None or name not in args:
        return args
    value = args[name]
    args = dict(args)
    if isinstance(value, str) and args.get("mechanism") == "PLAIN" and value.count("\0") == 2:
        authzid, user, _password = value.split("\0")
        args[name] = f"{authzid}\0{user}\0{MASK}"
    else:
        args[name] = MASK
    return args


def _default(value: Any) -> Any:
    """json.dumps hook for what JSON lacks: the shared AMQP value mapping (`mqctl.jsonvalues`)."""
    return to_json(value)


_encode = json.JSONEncoder(ensure_ascii=False, default=_default, separators=(", ", ": ")).encode


def record_dict(record: Record, body: BodyMode = BodyMode.preview) -> dict[str, Any]:
    """The JSON object of one record (before encoding)."""
    event = record.event
    out: dict[str, Any] = {
        "ts": record.ts,
        "conn": record.conn.id,
        "src": record.src,
        "dst": record.dst,
    }
    kind = type(event)
    if kind is MethodFrame:
        assert isinstance(event, MethodFrame)
        out["channel"] = event.channel
        out["type"] = "method"
        out["size"] = event.size
        out["class_id"] = event.class_id
        out["method_id"] = event.method_id
        out["method"] = event.name
        try:
            out["args"] = redact_args(event, event.args)
        except FrameError as exc:
            out["args"] = None
            out["error"] = exc.problem.reason
    elif kind is HeaderFrame:
        assert isinstance(event, HeaderFrame)
        out["channel"] = event.channel
        out["type"] = "header"
        out["size"] = event.size
        out["class_id"] = event.class_id
        out["body_size"] = event.body_size
        try:
            out["properties"] = event.properties
        except FrameError as exc:
            out["properties"] = None
            out["error"] = exc.problem.reason
    elif kind is BodyFrame:
        assert isinstance(event, BodyFrame)
        out["channel"] = event.channel
        out["type"] = "body"
        out["size"] = event.size
        if body is not BodyMode.none:
            out["preview"] = preview(event.payload)
        if body is BodyMode.full:
            out["body"] = {"bytes": base64.b64encode(event.payload).decode("ascii")}
    elif kind is HeartbeatFrame:
        assert isinstance(event, HeartbeatFrame)
        out["channel"] = event.channel
        out["type"] = "heartbeat"
        out["size"] = event.size
    elif kind is ProtocolHeader:
        assert isinstance(event, ProtocolHeader)
        out["channel"] = 0
        out["type"] = "protocol-header"
        out["size"] = 8
        out["protocol"] = event.description
    else:
        assert isinstance(event, DecodeProblem)
        out["channel"] = 0
        out["type"] = "gap" if event.kind == GAP else "error"
        out["size"] = event.skipped_bytes
        out["kind"] = event.kind
        out["offset"] = event.offset
        out["reason"] = event.reason
    return out


def jsonl_line(record: Record, body: BodyMode = BodyMode.preview) -> str:
    """One record as one line of JSON (without the newline)."""
    obj = record_dict(record, body)
    try:
        return _encode(obj)
    except (TypeError, ValueError):
        # Table keys that are not text, or values json cannot take: the full mapping, slower.
        return json.dumps(to_json(obj), ensure_ascii=False)

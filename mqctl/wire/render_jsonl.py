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
- a frame the capture holds only in part (a packet cut by the snap length, a lost segment) keeps
  its frame `type` and has `"cut": true`, `captured` (the payload bytes present, of `size`) and
  `reason`; of what a whole frame's record has, it carries what those bytes hold whole: a method's
  `class_id`, `method_id` and `method` once its 4 id bytes are there, `args` with only the
  arguments wholly present; a header's `class_id`, `body_size` and the `properties` wholly
  present; a body's `preview` of the bytes present.
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
from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson

from mqctl.jsonvalues import to_json
from mqctl.redact import MASK
from mqctl.wire._spec import DECODERS
from mqctl.wire.choices import BodyMode
from mqctl.wire.dispatch import NATIVE, content_properties
from mqctl.wire.frames import (
    DECODE_ERRORS,
    GAP,
    BodyFrame,
    CutFrame,
    DecodeProblem,
    FrameError,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
)
from mqctl.wire.methods import NAMES_BY_KEY
from mqctl.wire.pipeline import Record

PREVIEW_CHARS: Final = 64
# Lines joined into one write: few writes, and a bounded batch.
LINES_PER_CHUNK: Final = 500


def preview(payload: bytes | memoryview, limit: int = PREVIEW_CHARS) -> str:
    """The start of a body as text: UTF-8 where it decodes, `\\xNN` escapes where it does not."""
    start = bytes(payload[:limit])
    if start.isascii():  # most bodies: these bytes are the characters, whatever follows
        return start.decode("ascii")
    return bytes(payload[: limit * 4]).decode("utf-8", "backslashreplace")[:limit]


# Arguments that carry credentials, by method key ((class_id << 16) | method_id).
SECRET_ARGUMENTS: Final = {
    (10 << 16) | 11: "response",
    (10 << 16) | 21: "response",
    (10 << 16) | 70: "new_secret",
}


def redact_args(frame: MethodFrame | CutFrame, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments with credentials masked (a PLAIN response keeps its user name)."""
    if frame.class_id is None or frame.method_id is None:
        return args
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
    """orjson's hook for what it does not write itself: the shared AMQP value mapping
    (`mqctl.jsonvalues`), and a `Float32` (a float subclass) as the number it is."""
    if isinstance(value, float):
        return float(value)
    return to_json(value)


# orjson (a Rust extension, binary wheels on PyPI for every CPython mqctl supports): it encodes a
# record about five times as fast as the standard library's C encoder, which was the largest share
# of `wire read --format jsonl`. Its output is compact (no space after `,` and `:`). Datetimes go
# through `_default`, so that timestamps read as everywhere else in mqctl ("...T22:13:20Z").
_dumps: Final = orjson.dumps
_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME


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
    elif kind is CutFrame:
        assert isinstance(event, CutFrame)
        cut_record(event, body, out)
    else:
        assert isinstance(event, DecodeProblem)
        out["channel"] = 0
        out["type"] = "gap" if event.kind == GAP else "error"
        out["size"] = event.skipped_bytes
        out["kind"] = event.kind
        out["offset"] = event.offset
        out["reason"] = event.reason
    return out


def cut_record(event: CutFrame, body: BodyMode, out: dict[str, Any]) -> None:
    """A frame the capture holds in part: what a whole one has, as far as the bytes go."""
    out["channel"] = event.channel
    out["type"] = event.type_name
    out["size"] = event.size
    out["cut"] = True
    out["captured"] = len(event.payload)  # payload bytes in the capture
    out["reason"] = event.reason or "bytes missing from the capture"
    if event.frame_type == 1:
        if event.class_id is not None:
            out["class_id"] = event.class_id
        if event.method_id is not None:
            out["method_id"] = event.method_id
            out["method"] = event.name
        out["args"] = redact_args(event, event.fields())
    elif event.frame_type == 2:
        if event.class_id is not None:
            out["class_id"] = event.class_id
        if event.body_size is not None:
            out["body_size"] = event.body_size
        out["properties"] = event.fields()
    elif event.frame_type == 3 and body is not BodyMode.none:
        out["preview"] = preview(event.payload)


def jsonl_line(record: Record, body: BodyMode = BodyMode.preview) -> str:
    """One record as one line of JSON (without the newline)."""
    return next(jsonl_lines((record,), body))


def jsonl_lines(records: Iterable[Record], body: BodyMode = BodyMode.preview) -> Iterator[str]:
    """Each record as one line of JSON (without the newline), as text: see `jsonl_bytes`."""
    for line in jsonl_bytes(records, body):
        yield line.decode()


def jsonl_bytes(records: Iterable[Record], body: BodyMode = BodyMode.preview) -> Iterator[bytes]:
    """Each record as one line of JSON (without the newline), UTF-8 encoded as orjson makes it
    (a capture's lines go to a binary stream without a decode and re-encode each): what
    `record_dict` says, but built in one loop for the frames that fill captures (a bulk capture
    holds hundreds of thousands; a function call per frame is what costs). The frames of one
    packet share its time and endpoints: their encoded `ts`, `conn`, `src`, `dst` are made once,
    and each line is that head followed by the frame's own fields."""
    preview_bodies = body is BodyMode.preview
    dumps = _dumps
    default = _default
    options = _OPTIONS
    names = NAMES_BY_KEY
    decoders = DECODERS
    native = NATIVE
    # (locals: compiled, a class or table named as a global is a dictionary look-up per frame)
    header_frame, method_frame, body_frame = HeaderFrame, MethodFrame, BodyFrame
    secrets = SECRET_ARGUMENTS
    last_ts = 0.0
    last_conn: object = None
    last_from_client = False
    head = b""
    for record in records:
        ts, conn, from_client, event = record
        kind = type(event)
        # (ts by value: compiled, a float is unboxed, so two reads of one are not the same object)
        if ts != last_ts or conn is not last_conn or from_client is not last_from_client:
            where = {"ts": ts, "conn": conn.id, "src": record.src, "dst": record.dst}
            head = dumps(where)[:-1] + b","  # the object left open for the frame's fields
            last_ts, last_conn, last_from_client = ts, conn, from_client
        fields: dict[str, Any] | None = None
        try:
            # Frames are NamedTuples: unpacking them is cheaper than reading fields by name.
            if kind is header_frame:
                _o, channel, size, class_id, _w, body_size, flags, payload = event  # type: ignore[misc]
                # compiled, straight to the native decoder (`event.properties` is a Python
                # property: a frame of the interpreter per header); None: the general path
                properties = content_properties(class_id, flags, payload) if native else None
                if properties is None:
                    properties = event.properties  # type: ignore[union-attr]
                fields = {
                    "channel": channel,
                    "type": "header",
                    "size": size,
                    "class_id": class_id,
                    "body_size": body_size,
                    "properties": properties,
                }
            elif kind is method_frame:
                _o, channel, size, class_id, method_id, payload = event  # type: ignore[misc]
                key = (class_id << 16) | method_id
                decoder = decoders.get(key)
                # the generated decoder called here, not through `event.args` (a Python property
                # even in the compiled build); a frame it cannot decode takes the general path
                args = decoder(payload) if decoder is not None else None
                if args is None:
                    args = event.args  # type: ignore[union-attr]
                if key in secrets:
                    args = redact_args(event, args)  # type: ignore[arg-type]
                fields = {
                    "channel": channel,
                    "type": "method",
                    "size": size,
                    "class_id": class_id,
                    "method_id": method_id,
                    "method": names.get(key) or event.name,  # type: ignore[union-attr]
                    "args": args,
                }
            elif kind is body_frame and preview_bodies:
                _o, channel, size, payload = event  # type: ignore[misc]
                text = preview(payload)  # type: ignore[arg-type]
                fields = {"channel": channel, "type": "body", "size": size, "preview": text}
        except DECODE_ERRORS:  # what frame.args raises (FrameError) is one of them too
            fields = None  # the whole mapping, with "args": null and the error
        try:
            if fields is not None:
                line = head + dumps(fields, default=default, option=options)[1:]
            else:
                line = dumps(record_dict(record, body), default=default, option=options)
        except TypeError:
            # Table keys that are not text, integers past 64 bits: the stdlib's encoder, as compact.
            line = json.dumps(
                to_json(record_dict(record, body)), ensure_ascii=False, separators=(",", ":")
            ).encode()
        yield line


def jsonl_chunks(
    records: Iterable[Record], body: BodyMode = BodyMode.preview, lines: int = LINES_PER_CHUNK
) -> Iterator[bytes]:
    """The lines of `jsonl_bytes`, each ended by a newline, joined `lines` at a time: one write
    each. When the records fail (a capture cut off mid-way), the lines made before the failure
    come first, then the error."""
    encoded = jsonl_bytes(records, body)
    batch: list[bytes] = []
    while True:
        failure: BaseException | None = None
        finished = False
        try:
            for line in encoded:
                batch.append(line)
                if len(batch) >= lines:
                    break
            else:
                finished = True
        except BaseException as exc:  # raised again below, after the lines
            failure = exc
        if batch:
            batch.append(b"")
            yield b"\n".join(batch)
            batch = []
        if failure is not None:
            raise failure
        if finished:
            return

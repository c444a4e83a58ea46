"""The human view: one line per frame, a detail tree under it with `-v`.

    14:02:11.017231 #1 → ch1 Basic.Publish x=orders rk=order.created mandatory
    14:02:11.017316 #1 → ch1   ContentHeader 57 B content_type=application/json delivery_mode=2
    14:02:11.018038 #1 ← ch2 Channel.Close 404 NOT_FOUND - no queue 'x' in vhost '/' (Queue.Declare)

Time is UTC; `#N` the connection (its endpoints are shown when it first appears), `→` client to
broker, `←` broker to client. Each connection has its own colour on a terminal; error replies are
bold red. The renderer returns (text, style) parts; `mqctl.output.WireWriter` writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

import orjson

from mqctl.output import wire_conn_style
from mqctl.wire.choices import BodyMode
from mqctl.wire.frames import (
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
from mqctl.wire.methods import PROPERTIES, REPLY_CODES, method_name
from mqctl.wire.pipeline import Record
from mqctl.wire.render_jsonl import redact_args
from mqctl.wire.values import FIELD_TYPE_NAMES, type_code

Part = tuple[str, str | None]
Line = list[Part]

ERROR_STYLE = "bold red"
DIM = "dim"
NAME_STYLE = "bold"

ABBREVIATIONS = {
    "exchange": "x",
    "routing_key": "rk",
    "queue": "q",
    "consumer_tag": "ctag",
    "delivery_tag": "tag",
    "message_count": "msgs",
    "consumer_count": "consumers",
    "destination": "dest",
    "source": "src",
    "prefetch_count": "prefetch",
}
# Arguments that say nothing in a one-line view (reserved, deprecated, protocol versions).
QUIET = {"ticket", "reserved_1", "reserved_2", "reserved_3", "version_major", "version_minor"}
PEER_PROPERTIES = ("connection_name", "product", "version", "platform")
SHOWN_EMPTY = {"exchange"}  # the default exchange is worth saying
MAX_VALUE = 80
PREVIEW = 64  # characters of a text body
HEX_PREVIEW = 24  # bytes of a binary body
MAX_PRETTY_JSON = 4096


_SECONDS: dict[int, str] = {}


def _clock(ts: float) -> str:
    """`HH:MM:SS.ffffff` (UTC); the seconds part formatted once per second of capture."""
    micros = round(ts * 1e6)
    whole, frac = divmod(micros, 1_000_000)
    text = _SECONDS.get(whole)
    if text is None:
        if len(_SECONDS) > 1024:
            _SECONDS.clear()
        text = _SECONDS[whole] = dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%H:%M:%S")
    return f"{text}.{frac:06d}"


def short(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as it reads best on one line."""
    if isinstance(value, str):
        text = (
            value
            if value and value.isprintable() and " " not in value and '"' not in value
            else json.dumps(value, ensure_ascii=False)
        )
    elif isinstance(value, bytes | memoryview):
        if limit < 100:
            text = f"<{len(value)} bytes>"
        else:
            text = f"<{len(value)} bytes {bytes(value[:32]).hex()}{'…' if len(value) > 32 else ''}>"
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, dict):
        return _entries("{", (f"{k}={short(v, 24)}" for k, v in value.items()), "}", limit)
    elif isinstance(value, list | tuple):
        return _entries("[", (short(v, 24) for v in value), "]", limit)
    elif isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif isinstance(value, int | float | Decimal):
        return str(value)  # a number is never cut: 400000000… would read as another number
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entries(opening: str, items: Iterator[str], closing: str, limit: int) -> str:
    """A table or array on one line, cut only between entries: `{a=1, b=2, …}`."""
    taken: list[str] = []
    size = len(opening) + len(closing)
    for item in items:
        added = len(item) + (2 if taken else 0)
        if size + added > limit and taken:
            while taken and size + 3 > limit:  # make room for ", …"
                size -= len(taken.pop()) + (2 if taken else 0)
            return opening + "".join(f"{t}, " for t in taken) + "…" + closing
        taken.append(item)
        size += added
    return opening + ", ".join(taken) + closing


def _is_error_reply(frame: MethodFrame, args: dict[str, Any]) -> bool:
    is_close = (frame.class_id, frame.method_id) in ((10, 50), (20, 40))
    return is_close and args.get("reply_code") not in (0, 200)  # pika closes with 0 too


def method_summary(frame: MethodFrame, args: dict[str, Any]) -> str:
    """The key arguments of a method: `x=orders rk=order.created mandatory`."""
    parts = []
    if "reply_code" in args:
        parts.append(f"{args['reply_code']} {args.get('reply_text', '')}".rstrip())
        failing = args.get("class_id")
        if failing and "method_id" in args:
            parts.append(f"({method_name(failing, args['method_id'])})")
    for name, value in args.items():
        if name in QUIET or name in ("reply_code", "reply_text", "class_id", "method_id"):
            continue
        if name in ("server_properties", "client_properties") and isinstance(value, dict):
            parts.extend(f"{key}={short(value[key])}" for key in PEER_PROPERTIES if key in value)
            continue
        if isinstance(value, bool):
            if value:
                parts.append(name)
            continue
        if isinstance(value, dict | list) and not value:
            continue
        if value == "" and name not in SHOWN_EMPTY:
            continue
        label = ABBREVIATIONS.get(name, name)
        parts.append(f'{label}=""' if value == "" else f"{label}={short(value)}")
    return " ".join(parts)


class HumanRenderer:
    """Turns records into lines; keeps what it needs across frames (content types per channel)."""

    def __init__(self, verbose: bool = False, body: BodyMode = BodyMode.preview) -> None:
        self.verbose = verbose
        self.body = body
        self._announced: set[int] = set()
        self._content: dict[tuple[int, bool, int], tuple[str | None, int]] = {}

    def lines(self, record: Record) -> Iterator[Line]:
        conn = record.conn
        style = wire_conn_style(conn.id)
        if conn.id not in self._announced:
            self._announced.add(conn.id)
            when = dt.datetime.fromtimestamp(record.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            yield [(f"#{conn.id} {conn.client} → {conn.server}", style), (f"  {when}", DIM)]
        event = record.event
        arrow = "→" if record.from_client else "←"
        channel = getattr(event, "channel", None)
        head: Line = [
            (_clock(record.ts) + " ", DIM),
            (f"#{conn.id} {arrow}", style),
            (f" ch{channel} " if channel is not None else " ", None),
        ]
        kind = type(event)
        if kind is MethodFrame:
            assert isinstance(event, MethodFrame)
            yield from self._method(record, event, head)
        elif kind is HeaderFrame:
            assert isinstance(event, HeaderFrame)
            yield from self._header(record, event, head)
        elif kind is BodyFrame:
            assert isinstance(event, BodyFrame)
            yield from self._body(record, event, head)
        elif kind is HeartbeatFrame:
            yield [*head, ("Heartbeat", DIM)]
        elif kind is ProtocolHeader:
            assert isinstance(event, ProtocolHeader)
            text = f"protocol header {event.description}"
            yield [*head, (text, None if event.is_amqp091 else ERROR_STYLE)]
        elif kind is CutFrame:
            assert isinstance(event, CutFrame)
            yield from self._cut(event, head)
        else:
            assert isinstance(event, DecodeProblem)
            label = "GAP" if event.kind == GAP else f"ERROR {event.kind}"
            where = f" at offset {event.offset}"
            yield [*head, (f"{label}: {event.reason}{where}", ERROR_STYLE)]

    # --- frames ---------------------------------------------------------------------------------

    def _cut(self, frame: CutFrame, head: Line) -> Iterator[Line]:
        """What a frame the capture holds in part shows: its name, the fields wholly present."""
        fields = redact_args(frame, frame.fields()) if frame.frame_type == 1 else frame.fields()
        shown = " ".join(f"{name}={short(value)}" for name, value in fields.items())
        if frame.frame_type == 2 and frame.body_size is not None:
            shown = f"{frame.body_size} B {shown}".rstrip()
        name = frame.name if frame.frame_type == 1 else f"  {frame.name}"
        why = f": {frame.reason}" if frame.reason else ""
        yield [
            *head,
            (name, NAME_STYLE),
            (f" {shown}" if shown else "", None),
            (
                f"  [cut: {len(frame.payload)} of {frame.size} payload bytes captured{why}]",
                ERROR_STYLE,
            ),
        ]
        if self.verbose and fields:
            yield from tree([(name, "", value) for name, value in fields.items()])

    def _method(self, record: Record, frame: MethodFrame, head: Line) -> Iterator[Line]:
        try:
            args = redact_args(frame, frame.args)
        except FrameError as exc:
            yield [
                *head,
                (frame.name, NAME_STYLE),
                (f" (undecodable: {exc.problem.reason})", ERROR_STYLE),
            ]
            return
        summary = method_summary(frame, args)
        if _is_error_reply(frame, args):
            code = args["reply_code"]
            name = REPLY_CODES.get(code, "")
            yield [
                *head,
                (f"{frame.name} {summary}", ERROR_STYLE),
                (f"  [{name}]" if name else "", DIM),
            ]
        else:
            yield [*head, (frame.name, NAME_STYLE), (" " + summary if summary else "", None)]
        if self.verbose:
            spec = frame.spec
            if spec is not None:
                entries = [(arg.name, arg.amqp_type, args.get(arg.name)) for arg in spec.arguments]
                yield from tree(entries)

    def _header(self, record: Record, frame: HeaderFrame, head: Line) -> Iterator[Line]:
        key = (record.conn.id, record.from_client, frame.channel)
        try:
            props = frame.properties
        except FrameError as exc:
            self._content[key] = (None, frame.body_size)
            yield [
                *head,
                ("  ContentHeader", NAME_STYLE),
                (f" (undecodable: {exc.problem.reason})", ERROR_STYLE),
            ]
            return
        if len(self._content) > 65536:
            self._content.clear()  # channels come and go: memory stays flat
        self._content[key] = (props.get("content_type"), frame.body_size)
        shown = " ".join(f"{name}={short(value)}" for name, value in props.items())
        yield [
            *head,
            ("  ContentHeader", NAME_STYLE),
            (f" {frame.body_size} B {shown}".rstrip(), None),
        ]
        if self.verbose:
            types = {p.name: p.amqp_type for p in PROPERTIES.get(frame.class_id, ())}
            yield from tree([(name, types.get(name, "?"), value) for name, value in props.items()])

    def _body(self, record: Record, frame: BodyFrame, head: Line) -> Iterator[Line]:
        key = (record.conn.id, record.from_client, frame.channel)
        if self.body is BodyMode.none:
            yield [*head, ("  ContentBody", NAME_STYLE), (f" {frame.size} B", None)]
            return
        full = self.body is BodyMode.full
        content_type, body_size = self._content.get(key, (None, -1))
        pretty = None
        if (
            content_type
            and "json" in content_type
            and frame.size == body_size
            and (full or frame.size <= MAX_PRETTY_JSON)
        ):
            pretty = pretty_json(bytes(frame.payload))  # None: not JSON, shown as it is
        if pretty is not None:
            yield [*head, ("  ContentBody", NAME_STYLE), (f" {frame.size} B JSON:", None)]
            for row in pretty.splitlines():
                yield [("      " + row, None)]
            return
        shown = body_preview(frame.payload, whole=full)
        yield [*head, ("  ContentBody", NAME_STYLE), (f" {frame.size} B ", None), (shown, DIM)]


class _HasFloat(Exception):
    """The body holds a float, NaN or Infinity: orjson writes those otherwise than the stdlib
    (0.00001 for 1e-05, null for NaN), so the stdlib writes such a body."""


def _has_float(text: str) -> NoReturn:
    raise _HasFloat


# json.loads(raw, parse_float=..., parse_constant=...), built once
_WITHOUT_FLOATS = json.JSONDecoder(parse_float=_has_float, parse_constant=_has_float)
_SURROGATE = re.compile("[\ud800-\udfff]")


def pretty_json(raw: bytes) -> str | None:
    """A JSON body as `json.dumps(json.loads(raw), indent=2, ensure_ascii=False)` writes it; None
    when it is not JSON, or nests too deeply to show as a tree (it is shown as text then)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")  # what json.loads does
        try:
            value = _WITHOUT_FLOATS.decode(text)
        except _HasFloat:
            value = json.loads(text)
        else:
            try:
                # The same text as the stdlib's, whose indenting runs in pure Python: a
                # 200-byte body takes 3.0 us instead of 7.0, parsing included. orjson refuses
                # integers past 64 bits, lone surrogates and nesting past 255 levels.
                return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
            except orjson.JSONEncodeError:
                pass
        text = json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None
    # "\ud800" in a body decodes to a lone surrogate, which no output can encode: it is shown
    # as the escape it was
    return _SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def body_preview(payload: memoryview | bytes, whole: bool = False) -> str:
    """Text in quotes when the body reads as text; otherwise its bytes in hex. The first
    PREVIEW characters (HEX_PREVIEW bytes), or all of it when `whole` (`--body full`)."""
    limit = len(payload) if whole else PREVIEW
    head = bytes(payload if whole else payload[: limit * 4])
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else ""
        if not text:
            return _hex(payload, whole)
    if not text.replace("\n", "").replace("\t", "").replace("\r", "").isprintable():
        return _hex(payload, whole)
    shown = json.dumps(text[:limit], ensure_ascii=False)
    return shown + ("…" if len(text[:limit].encode()) < len(payload) else "")


def _hex(payload: memoryview | bytes, whole: bool) -> str:
    count = len(payload) if whole else HEX_PREVIEW
    more = " …" if len(payload) > count else ""
    return "hex " + bytes(payload[:count]).hex(" ") + more


def tree(entries: list[tuple[str, str, Any]], indent: str = "      ") -> Iterator[Line]:
    """`name (type) = value` rows with box-drawing branches; tables and arrays nest."""
    for i, (name, amqp_type, value) in enumerate(entries):
        last = i == len(entries) - 1
        branch = "└─ " if last else "├─ "
        if not amqp_type:  # an entry of a field table or array: its value says its type
            code = type_code(value)
            amqp_type = f"{code} {FIELD_TYPE_NAMES.get(code, '?')}"
        if isinstance(value, dict):
            yield [
                (indent + branch, DIM),
                (name, None),
                (f" ({amqp_type})", DIM),
                (f" {len(value)} entries", DIM),
            ]
            yield from tree(
                [(str(k), "", v) for k, v in value.items()], indent + ("   " if last else "│  ")
            )
        elif isinstance(value, list):
            yield [
                (indent + branch, DIM),
                (name, None),
                (f" ({amqp_type})", DIM),
                (f" {len(value)} items", DIM),
            ]
            yield from tree(
                [(f"[{j}]", "", v) for j, v in enumerate(value)],
                indent + ("   " if last else "│  "),
            )
        else:
            shown = (
                short(value, 200)
                if not isinstance(value, str)
                else json.dumps(value, ensure_ascii=False)
            )
            yield [
                (indent + branch, DIM),
                (name, None),
                (f" ({amqp_type})", DIM),
                (" = " + shown, None),
            ]

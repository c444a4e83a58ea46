"""`--summary` as text: a block per connection, then the totals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mqctl.jsonvalues import to_json
from mqctl.output import wire_conn_style
from mqctl.wire.render_human import DIM, ERROR_STYLE, NAME_STYLE, Line
from mqctl.wire.summary import Counts, Summary


def _size(n: int) -> str:
    if n < 10_000:
        return f"{n} B"
    if n < 10_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def summary_json(summary: Summary) -> str:
    """`--summary --format jsonl`: the summary as one JSON object (a contract, as the frames are)."""
    document = {
        "connections": [
            {"conn": conn.id, "client": conn.client, "server": conn.server, **_counts_json(c)}
            for conn, c in summary.connections
        ],
        "total": _counts_json(summary.total),
    }
    return json.dumps(document, ensure_ascii=False, default=to_json)


def _counts_json(c: Counts) -> dict[str, Any]:
    return {
        "frames": dict(c.frames.most_common()),
        "bytes": dict(c.bytes.most_common()),
        "messages": {"published": c.published, "delivered": c.delivered, "fetched": c.fetched},
        "confirms": {
            "acked": c.confirms_acked,
            "nacked": c.confirms_nacked,
            "never_confirmed": c.never_confirmed,
            "latency_ms": c.latency_percentiles(),
        },
        "consumer_acks": {
            "acked": c.acked,
            "nacked": c.nacked,
            "rejected": c.rejected,
            "auto_acked": c.auto_acked,
            "unacked": c.unacked,
        },
        "returns": dict(c.returns),
        "errors": [e.__dict__ for e in c.errors],
        "problems": dict(c.problems),
    }


def summary_lines(summary: Summary) -> Iterator[Line]:
    for conn, counts in summary.connections:
        yield [(f"Connection #{conn.id} {conn.client} → {conn.server}", wire_conn_style(conn.id))]
        yield from _counts_lines(counts, per_connection=True)
        yield []
    if len(summary.connections) == 1:
        yield [("Overall: 1 connection, as above", NAME_STYLE)]
        return
    yield [(f"Overall: {len(summary.connections)} connection(s)", NAME_STYLE)]
    yield from _counts_lines(summary.total, per_connection=False)


def _counts_lines(c: Counts, per_connection: bool) -> Iterator[Line]:
    total_frames = sum(c.frames.values())
    yield [(f"  frames: {total_frames} ({_size(sum(c.bytes.values()))})", None)]
    width = max((len(name) for name in c.frames), default=0)
    for name, count in c.frames.most_common():
        yield [(f"    {name:<{width}}  {count:>8}  {_size(c.bytes[name]):>9}", DIM)]
    yield [
        (
            f"  messages: {c.published} published, {c.delivered} delivered, {c.fetched} fetched",
            None,
        )
    ]
    confirms = c.confirms_acked + c.confirms_nacked + c.never_confirmed
    if confirms:
        text = (
            f"  publisher confirms: {c.confirms_acked} acked, {c.confirms_nacked} nacked, "
            f"{c.never_confirmed} never confirmed"
        )
        style = ERROR_STYLE if c.confirms_nacked or c.never_confirmed else None
        yield [(text, style)]
        latency = c.latency_percentiles()
        if latency:
            shown = ", ".join(f"{k} {v:.3f} ms" for k, v in latency.items())
            yield [(f"    publish→confirm latency: {shown}", DIM)]
    settled = c.acked + c.nacked + c.rejected + c.auto_acked + c.unacked
    if settled:
        text = (
            f"  deliveries: {c.acked} acked, {c.nacked} nacked, {c.rejected} rejected, "
            f"{c.auto_acked} auto-acked, {c.unacked} unacked at the end"
        )
        yield [(text, ERROR_STYLE if c.unacked else None)]
    for reason, count in c.returns.most_common():
        yield [(f"  returned: {count} x {reason}", ERROR_STYLE)]
    for err in c.errors:
        where = f"ch{err.channel}" if err.channel else "connection"
        conn = "" if per_connection else f"#{err.conn} "
        failing = f" ({err.failing_method})" if err.failing_method else ""
        text = f"  error: {conn}{where} closed by {err.by}: {err.reply_code} {err.reply_text}"
        yield [(text + failing, ERROR_STYLE)]
    for kind, count in c.problems.most_common():
        yield [(f"  problems: {count} x {kind}", ERROR_STYLE)]

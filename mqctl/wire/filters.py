"""Which records to show: `--conn`, `--channel`, `--method GLOB`, `--type`, `--limit`.

A content header and its body frames go with their method: `--method Basic.Publish` shows the
publishes with their content. Problems (gaps, skipped bytes) concern a whole direction of a
connection, not a channel or a method, so only `--conn` and `--type` filter them.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mqctl.errors import BadInput
from mqctl.wire.choices import RECORD_TYPES
from mqctl.wire.frames import (
    GAP,
    BodyFrame,
    CutFrame,
    DecodeProblem,
    HeaderFrame,
    HeartbeatFrame,
    MethodFrame,
    ProtocolHeader,
)
from mqctl.wire.methods import METHODS_BY_NAME
from mqctl.wire.pipeline import Record

MAX_CHANNEL = 65535


def check_method_glob(glob: str) -> None:
    """A `--method` glob must match some AMQP 0-9-1 method: a typo would show nothing, silently."""
    lowered = glob.lower()
    names = {name.lower(): name for name in METHODS_BY_NAME}
    if any(fnmatch.fnmatchcase(name, lowered) for name in names):
        return
    close = difflib.get_close_matches(lowered, names, n=1, cutoff=0.6)
    raise BadInput(
        f"--method {glob!r} matches no AMQP 0-9-1 method",
        f"did you mean {names[close[0]]!r}?" if close else "give Class.Method, e.g. 'Basic.*'",
    )


def record_type(record: Record) -> str:
    event = record.event
    kind = type(event)
    if kind is MethodFrame:
        return "method"
    if kind is HeaderFrame:
        return "header"
    if kind is BodyFrame:
        return "body"
    if kind is HeartbeatFrame:
        return "heartbeat"
    if kind is ProtocolHeader:
        return "protocol-header"
    if kind is CutFrame:
        assert isinstance(event, CutFrame)
        return event.type_name  # a cut frame is still the frame it was
    assert isinstance(event, DecodeProblem)
    return "gap" if event.kind == GAP else "error"


@dataclass(frozen=True)
class RecordFilter:
    conns: frozenset[int] = frozenset()
    channels: frozenset[int] = frozenset()
    methods: tuple[str, ...] = ()
    types: frozenset[str] = frozenset()
    limit: int | None = None

    @classmethod
    def build(
        cls,
        conns: Iterable[int] = (),
        channels: Iterable[int] = (),
        methods: Iterable[str] = (),
        types: Iterable[str] = (),
        limit: int | None = None,
    ) -> RecordFilter:
        """Check the values (a bad `--type` is bad input) and build the filter."""
        wanted = frozenset(t.lower() for t in types)
        unknown = wanted - set(RECORD_TYPES)
        if unknown:
            raise BadInput(
                f"unknown --type {', '.join(sorted(unknown))}",
                f"choose from {', '.join(RECORD_TYPES)}",
            )
        if limit is not None and limit < 0:
            raise BadInput(
                f"--limit {limit} is negative", "give a count of frames, e.g. --limit 100"
            )
        conns, channels, methods = tuple(conns), tuple(channels), tuple(methods)
        for conn in conns:
            if conn < 1:
                raise BadInput(f"--conn {conn} is no connection number", "they start at #1")
        for channel in channels:
            if not 0 <= channel <= MAX_CHANNEL:
                raise BadInput(
                    f"--channel {channel} is no AMQP channel", f"give 0 to {MAX_CHANNEL}"
                )
        for glob in methods:
            check_method_glob(glob)
        return cls(frozenset(conns), frozenset(channels), methods, wanted, limit)

    @property
    def active(self) -> bool:
        return bool(self.conns or self.channels or self.methods or self.types)

    def apply(self, records: Iterable[Record]) -> Iterable[Record]:
        """The records that pass, stopping after `limit` of them."""
        if not self.active and self.limit is None:
            return records  # no filter: no extra step per record
        return self._select(records)

    def _select(self, records: Iterable[Record]) -> Iterator[Record]:
        limit = self.limit
        if limit == 0:
            return
        if not self.active:
            assert limit is not None  # `apply` takes the no-filter, no-limit case itself
            for shown, record in enumerate(records, 1):
                yield record
                if shown >= limit:
                    return
            return
        pattern = (
            re.compile("|".join(fnmatch.translate(m) for m in self.methods), re.IGNORECASE)
            if self.methods
            else None
        )
        conns, channels, types = self.conns, self.channels, self.types
        content_follows: dict[tuple[int, bool, int], bool] = {}
        shown = 0
        for record in records:
            if conns and record.conn.id not in conns:
                continue
            kind = record_type(record)
            if types and kind not in types:
                if pattern is not None and kind == "method":
                    self._track(record, pattern, content_follows)
                continue
            if kind in ("gap", "error"):
                pass
            else:
                channel = getattr(record.event, "channel", 0)
                if channels and channel not in channels:
                    continue
                if pattern is not None:
                    if kind == "method":
                        if not self._track(record, pattern, content_follows):
                            continue
                    elif kind in ("header", "body"):
                        key = (record.conn.id, record.from_client, channel)
                        if not content_follows.get(key, False):
                            continue
                    else:
                        continue
            yield record
            shown += 1
            if limit is not None and shown >= limit:
                return

    @staticmethod
    def _track(
        record: Record, pattern: re.Pattern[str], content_follows: dict[tuple[int, bool, int], bool]
    ) -> bool:
        event = record.event
        assert isinstance(event, MethodFrame | CutFrame)
        matched = pattern.match(event.name) is not None
        content_follows[(record.conn.id, record.from_client, event.channel)] = matched
        return matched

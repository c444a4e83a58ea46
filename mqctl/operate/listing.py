"""`mqctl list KIND`: the broker's objects of one kind, streamed, filtered, sorted, trimmed.

Two ways to read a long list, both in bounded memory on mqctl's side:
- one GET, parsed as it arrives (`ManagementClient.stream`), the default: the broker builds the
  list once;
- the API's pagination (`page_size`), asked for with `--page-size N`: each answer stays small,
  but the broker builds the whole list again for every page (20,000 queues: 40 pages took 78 s
  where one streamed GET took 6 s on the same broker).
Sorting is the broker's (`sort`, `sort_reverse`) wherever the API sorts, so rows keep streaming;
kinds the API does not sort (feature flags, deprecated features: short lists) are sorted here,
which holds them all in memory.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mqctl.errors import BadInput, BrokerError
from mqctl.management import MAX_PAGE_SIZE, ManagementClient
from mqctl.operate.columns import api_columns, get_path, has_path, trim, without
from mqctl.operate.kinds import KIND_NAMES, KINDS, Kind


@dataclass(frozen=True)
class NameFilter:
    """`--filter`: a glob matched against the whole name, or (`regex`) a Python regular
    expression searched anywhere in it. Any of the kind's name fields may match."""

    pattern: str
    regex: bool = False

    def matcher(self) -> Callable[[str], bool]:
        if self.regex:
            try:
                compiled = re.compile(self.pattern)
            except re.error as exc:
                raise BadInput(
                    f"--filter {self.pattern!r} is not a regular expression: {exc}",
                    "fix the expression, or drop --regex to match a glob",
                ) from None
            return lambda name: compiled.search(name) is not None
        compiled = re.compile(fnmatch.translate(self.pattern))
        return lambda name: compiled.match(name) is not None

    def api_regex(self) -> str | None:
        """A regex the broker can pre-filter pages with (None when the glob is not simple)."""
        if self.regex:
            return self.pattern
        if any(ch in self.pattern for ch in "[]"):
            return None
        body = "".join(
            ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in self.pattern
        )
        return f"^{body}$"


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> SortKey:
        """`COL` ascending, `-COL` descending."""
        column = text[1:] if text.startswith("-") else text
        if not column:
            raise BadInput(f"--sort {text!r}: name a column", "e.g. --sort -messages")
        return cls(column, text.startswith("-"))


DEFAULT_COLUMNS: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListRequest:
    kind: str
    vhost: str | None  # None: every vhost
    # () the kind's default columns; None every field the API gives (`--columns all`)
    columns: tuple[str, ...] | None = DEFAULT_COLUMNS
    sort: SortKey | None = None
    name_filter: NameFilter | None = None
    page_size: int | None = None  # use the API's pagination, this many per page
    used_only: bool = False  # deprecated-features: only those in use


@dataclass
class Listing:
    kind: Kind
    columns: tuple[str, ...] | None
    rows: Iterator[dict[str, Any]]  # each trimmed to the columns (nested as the API nests)


def kind_named(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise BadInput(f"unknown kind {name!r}", f"one of: {', '.join(KIND_NAMES)}")
    return kind


def list_objects(client: ManagementClient, request: ListRequest) -> Listing:
    """Start the listing; rows are read from the broker as they are consumed."""
    kind = kind_named(request.kind)
    _check_request(kind, request)
    columns = kind.columns if request.columns == DEFAULT_COLUMNS else request.columns
    return Listing(kind, columns, _rows(client, kind, request, columns))


def _check_request(kind: Kind, request: ListRequest) -> None:
    if request.page_size is not None and not 1 <= request.page_size <= MAX_PAGE_SIZE:
        raise BadInput(
            f"--page-size {request.page_size}: the API serves 1 to {MAX_PAGE_SIZE} per page"
        )
    if request.used_only and kind.name != "deprecated-features":
        raise BadInput("--used is for deprecated-features", "mqctl list deprecated-features --used")
    if request.name_filter is not None:
        request.name_filter.matcher()  # a bad regex is bad input before anything is asked


def _rows(
    client: ManagementClient, kind: Kind, request: ListRequest, columns: tuple[str, ...] | None
) -> Iterator[dict[str, Any]]:
    segments = kind.segments(request.vhost)
    if request.used_only:
        segments = (*segments, "used")
    params: dict[str, Any] = {}
    # The API's answer needs no trimming here when it was asked for exactly the columns shown
    # (then these are its top-level fields): when it honours `columns` at all, it trims.
    top_level: frozenset[str] | None = None
    if columns is not None:
        extra = list(kind.names) + ([request.sort.column] if request.sort else [])
        asked = api_columns(columns, extra)
        paged = request.page_size is not None
        params.update(columns=asked, **stats_params(kind, asked.split(","), paged=paged))
        if asked == api_columns(columns):
            top_level = frozenset(column.split(".", 1)[0] for column in columns)
    local_sort = request.sort is not None and not kind.api_sorts
    if request.sort is not None and kind.api_sorts:
        params["sort"] = request.sort.column
        params["sort_reverse"] = "true" if request.sort.descending else "false"
    matches = request.name_filter.matcher() if request.name_filter else None
    if request.page_size is not None and kind.api_pages and request.name_filter is not None:
        server_regex = request.name_filter.api_regex()
        if server_regex is not None and kind.names == ("name",):
            params.update(name=server_regex, use_regex="true")
    shown = False  # a row was yielded: a broker error after that is not about the sort field
    try:
        if request.page_size is not None:
            source = client.pages(*segments, params=params, page_size=request.page_size)
        else:
            source = client.stream(*segments, params=params)
        selected: Iterator[dict[str, Any]] = (
            record for record in source if matches is None or _any_name(record, kind, matches)
        )
        if local_sort:
            assert request.sort is not None
            records = list(selected)
            check_sort_field(kind, request.sort, records)
            selected = iter(sort_records(records, request.sort))
        elif request.sort is not None:
            selected = _sort_checked(kind, request.sort, selected)
        for record in selected:
            yield _shape(record, kind, columns, top_level)
            shown = True
    except BrokerError as exc:
        raise _explained(exc, kind, request, before_rows=not shown) from None


def check_sort_field(kind: Kind, key: SortKey, records: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a sort by a field none of the records has and the kind does not vouch for (see
    `Kind.vouches_for`): sorted by a missing field (by the broker or here), rows come in no
    useful order without a word. No records: nothing to tell by."""
    if not records or kind.vouches_for(key.column):
        return
    if not any(has_path(record, key.column) for record in records):
        raise _no_such_sort_field(kind, key)


def _no_such_sort_field(kind: Kind, key: SortKey) -> BadInput:
    return BadInput(
        f"--sort {key.column!r}: {kind.name} have no such field",
        f"see their field names with mqctl list {kind.name} --columns all --format json",
    )


def _sort_checked(
    kind: Kind, key: SortKey, records: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The records, the first checked for the sort field: rows stream, so the first is all
    there is to tell by before output starts."""
    first = next(records, None)
    if first is None:
        return
    check_sort_field(kind, key, (first,))
    yield first
    yield from records


def stats_params(kind: Kind, fields: Iterable[str], *, paged: bool = False) -> dict[str, str]:
    """What spares the broker its statistics when the fields (dotted: their first step) need
    none: `disable_stats`, and `enable_queue_totals` when a message count is among them. With
    any other field the broker looks up every object's stats (for 10,000 queues, most of its
    time: see benchmarks/bench_list.py).

    Not the totals for a paged listing: the broker asks every queue for them on every page,
    where with stats it sorts and pages first and looks up only the page's."""
    roots = {field.split(".", 1)[0] for field in fields}
    if not kind.without_stats or not roots <= kind.without_stats | kind.queue_totals:
        return {}
    if roots & kind.queue_totals:
        return {} if paged else {"disable_stats": "true", "enable_queue_totals": "true"}
    return {"disable_stats": "true"}


def _any_name(record: Mapping[str, Any], kind: Kind, matches: Callable[[str], bool]) -> bool:
    for field in kind.names:
        value = get_path(record, field)
        if isinstance(value, str) and matches(value):
            return True
    return False


def _shape(
    record: Mapping[str, Any],
    kind: Kind,
    columns: tuple[str, ...] | None,
    top_level: frozenset[str] | None,
) -> dict[str, Any]:
    if columns is None:
        return without(record, kind.hidden)
    if top_level is not None and isinstance(record, dict) and record.keys() <= top_level:
        return record  # the API trimmed it to exactly `columns`, nested ones too
    return trim(record, columns)


def sort_records(records: list[dict[str, Any]], key: SortKey) -> list[dict[str, Any]]:
    """Sorted by one column; rows without it go last either way, numbers before texts."""

    def rank(record: Mapping[str, Any]) -> tuple[int, Any]:
        value = get_path(record, key.column)
        if isinstance(value, bool):
            return (1, int(value))
        if isinstance(value, int | float):
            return (1, value)
        if isinstance(value, str):
            return (2, value)
        return (3, 0) if value is None else (2, str(value))

    present = [r for r in records if get_path(r, key.column) is not None]
    missing = [r for r in records if get_path(r, key.column) is None]
    present.sort(key=rank, reverse=key.descending)
    return present + missing


def _explained(
    exc: BrokerError, kind: Kind, request: ListRequest, *, before_rows: bool
) -> BrokerError | BadInput:
    if exc.reply_code == 404 and kind.since is not None:
        return BrokerError(
            f"this broker has no {kind.name} in its management API ({exc.message})",
            f"RabbitMQ {kind.since} and later list them",
            reply_code=404,
        )
    if exc.reply_code == 404 and request.vhost is not None and kind.in_vhost:
        return BrokerError(
            f"cannot list {kind.name} of vhost {request.vhost!r}: {exc.message}",
            "check the vhost's name (mqctl list vhosts)",
            reply_code=404,
        )
    sort = request.sort
    if exc.reply_code == 500 and sort is not None and "." in sort.column and before_rows:
        # RabbitMQ fails (500, with no body to say why) to sort by a dotted field that goes on
        # past a value (durable.x): before any row, so the rows cannot tell; the kind's fields can
        if not kind.vouches_for(sort.column):
            return _no_such_sort_field(kind, sort)
        return BrokerError(
            f"the broker could not sort {kind.name} by {sort.column!r}: {exc.message}",
            "a dotted --sort field leads through objects to a value; see the fields with "
            f"mqctl list {kind.name} --columns all --format json",
            reply_code=500,
        )
    if exc.reply_code == 400 and sort is not None:
        return BrokerError(
            f"the broker could not sort {kind.name} by {sort.column!r}: {exc.message}",
            "sort by a column the API has (see --columns all)",
            reply_code=400,
        )
    return exc

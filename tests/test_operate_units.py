"""The operate library's pure parts: the streamed JSON reader, columns, filters, sorting,
arguments, thresholds, top's keys, and the listing renderers (every format parsed back)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mqctl import output
from mqctl.errors import BadInput
from mqctl.jsonstream import NotAnArray, iter_json_array
from mqctl.operate.changes import parse_arguments
from mqctl.operate.columns import api_columns, get_path, has_path, parse_columns, reader, trim
from mqctl.operate.health import CheckResult, HealthReport, Status, Threshold
from mqctl.operate.kinds import KINDS
from mqctl.operate.listing import (
    NameFilter,
    SortKey,
    check_sort_field,
    sort_records,
    stats_params,
)
from mqctl.operate.top import TopState, handle_key
from mqctl.output.listing import tsv_cell, tsv_line
from mqctl.output.top import sparkline

json_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
records = st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=5), max_size=8)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


@given(records, st.lists(st.integers(min_value=0), max_size=20), st.booleans())
def test_stream_reads_any_split_of_any_array(
    items: list[dict[str, Any]], cuts: list[int], pretty: bool
) -> None:
    text = json.dumps(items, indent=2 if pretty else None, ensure_ascii=False)
    data = text.encode()
    assert list(iter_json_array(chunked(data, cuts))) == items


def test_stream_one_byte_at_a_time_with_multibyte_text() -> None:
    items = [{"name": "qü€𝄞", "n": 1}, {"name": "x"}]
    data = json.dumps(items, ensure_ascii=False).encode()
    assert list(iter_json_array(data[i : i + 1] for i in range(len(data)))) == items


@pytest.mark.parametrize("doc", [b'{"a": 1}', b"3", b"[1, 2]", b""])
def test_stream_refuses_what_is_not_an_array_of_objects(doc: bytes) -> None:
    with pytest.raises(NotAnArray):
        list(iter_json_array([doc]))


def test_stream_refuses_a_truncated_array() -> None:
    with pytest.raises(ValueError, match="closing"):
        list(iter_json_array([b'[{"a": 1}, {"b"']))


def test_columns_read_dotted_paths_and_trim_nested_like_the_api() -> None:
    record = {"name": "q", "message_stats": {"publish_details": {"rate": 2.5}, "ack": 3}}
    assert get_path(record, "message_stats.publish_details.rate") == 2.5
    assert get_path(record, "message_stats.nope.rate") is None
    assert trim(record, ["name", "message_stats.publish_details.rate", "missing.x"]) == {
        "name": "q",
        "message_stats": {"publish_details": {"rate": 2.5}},
    }
    assert api_columns(["name", "a.b"], ["name", "vhost"]) == "name,a.b,vhost"


def test_statistics_are_asked_for_only_when_a_column_needs_them() -> None:
    queues, exchanges = KINDS["queues"], KINDS["exchanges"]
    plain = {"disable_stats": "true"}
    totals = {"disable_stats": "true", "enable_queue_totals": "true"}
    assert stats_params(queues, ["name", "type", "durable", "arguments.x-max-length"]) == plain
    assert stats_params(queues, ["name", "messages", "messages_ready"]) == totals
    assert stats_params(queues, ["name", "messages"], paged=True) == {}  # totals on every page
    assert stats_params(queues, ["name", "type"], paged=True) == plain
    assert stats_params(queues, ["name", "state"]) == {}  # 3.10 says "live" without stats
    assert stats_params(queues, ["name", "consumers"]) == {}
    assert stats_params(queues, ["name", "message_stats.publish_details.rate"]) == {}
    assert stats_params(exchanges, ["name", "type"]) == {}  # no such table for exchanges


def test_parse_columns() -> None:
    assert parse_columns(None, ("a", "b")) == ("a", "b")
    assert parse_columns("name, message_stats.ack", ()) == ("name", "message_stats.ack")
    assert parse_columns("all", ("a",)) is None
    for text in ("name,,x", "name..x", "a,messages..ready", ".name", "name."):
        with pytest.raises(BadInput, match="dotted"):
            parse_columns(text, ())


def test_sort_fields_the_kinds_vouch_for() -> None:
    queues, exchanges = KINDS["queues"], KINDS["exchanges"]
    for field in (
        "messages",  # a default column
        "durable",  # a field beyond them
        "message_stats",  # absent at times, and the paths below it
        "message_stats.publish_details.rate",
        "policy",
        "consumer_utilisation",
        "messages_ready_details.rate",
        "arguments.x-max-length",
        "effective_policy_definition.max-length",
    ):
        assert queues.vouches_for(field), field
    assert exchanges.vouches_for("message_stats.publish_in_details.rate")  # on every kind
    assert KINDS["connections"].vouches_for("client_properties")  # a prefix of a column
    for field in ("no_such_field", "durable.x", "name.x", "message"):
        assert not queues.vouches_for(field), field
    assert not exchanges.vouches_for("consumer_utilisation")  # a queue's


def test_sort_field_checked_against_the_rows() -> None:
    queues = KINDS["queues"]
    rows: list[dict[str, Any]] = [{"name": "a", "x": {"y": None}}, {"name": "b", "z": 1}]
    assert has_path(rows[0], "x.y") and has_path(rows[0], "x")  # null, and a prefix: there
    assert not has_path(rows[0], "x.y.z") and not has_path(rows[0], "z")
    # Not refused (it raises when it refuses): one row having the field will do.
    for key in (SortKey("x.y"), SortKey("x", True), SortKey("z")):
        check_sort_field(queues, key, rows)
    with pytest.raises(BadInput) as refused:
        check_sort_field(queues, SortKey("no_such_field", True), rows)
    assert str(refused.value) == (
        "--sort 'no_such_field': queues have no such field; see their field names with "
        "mqctl list queues --columns all --format json"
    )
    check_sort_field(queues, SortKey("no_such_field"), [])  # no rows: no telling
    check_sort_field(queues, SortKey("policy"), rows)  # vouched for, though absent


def test_glob_filter_matches_whole_names_and_regex_searches() -> None:
    glob = NameFilter("orders.*").matcher()
    assert glob("orders.new") and not glob("my.orders.new") and not glob("Orders.x")
    regex = NameFilter(r"ord(er)?s\.", regex=True).matcher()
    assert regex("my.orders.new") and regex("ords.x") and not regex("orders")
    with pytest.raises(BadInput, match="not a regular expression"):
        NameFilter("(", regex=True).matcher()


def test_glob_becomes_an_anchored_regex_for_the_broker() -> None:
    assert NameFilter("orders.*").api_regex() == r"^orders\..*$"
    assert NameFilter("q?").api_regex() == "^q.$"
    assert NameFilter("q[12]").api_regex() is None  # not sent: filtered here only


def test_sort_keys_and_local_sort() -> None:
    assert SortKey.parse("-messages") == SortKey("messages", True)
    rows: list[dict[str, Any]] = [{"n": 2}, {"n": None}, {"n": 10}, {}, {"n": 1}]
    assert [r.get("n") for r in sort_records(rows, SortKey("n"))] == [1, 2, 10, None, None]
    assert [r.get("n") for r in sort_records(rows, SortKey("n", True))] == [10, 2, 1, None, None]
    with pytest.raises(BadInput):
        SortKey.parse("-")


def test_arguments_are_json_when_they_parse() -> None:
    assert parse_arguments(["x-message-ttl=60000", "x-dead-letter-exchange=dlx", "b=true"]) == {
        "x-message-ttl": 60000,
        "x-dead-letter-exchange": "dlx",
        "b": True,
    }
    assert parse_arguments(["k:string=123"]) == {"k": "123"}
    with pytest.raises(BadInput, match="KEY=VALUE"):
        parse_arguments(["novalue"])


def test_thresholds_parse_and_judge() -> None:
    t = Threshold.parse("max-messages", "orders.*=100,1000")
    assert (t.pattern, t.warning, t.critical) == ("orders.*", 100, 1000)
    assert [t.judge(v) for v in (100, 101, 1001)] == [Status.OK, Status.WARNING, Status.CRITICAL]
    m = Threshold.parse("min-consumers", "2,1")
    assert m.pattern == "*"
    assert [m.judge(v) for v in (2, 1, 0)] == [Status.OK, Status.WARNING, Status.CRITICAL]
    plain = Threshold.parse("max-unacked", "5")
    assert (plain.warning, plain.critical) == (None, 5)
    for bad in ("x", "a=", "a=1,2,3", "=-1"):
        with pytest.raises(BadInput, match="GLOB"):
            Threshold.parse("max-messages", bad)


def status_of(report: HealthReport) -> Status:
    """Read afresh each time (mypy would keep the first answer for the property)."""
    return report.status


def test_health_status_is_the_worst_that_counts() -> None:
    report = HealthReport(
        [
            CheckResult("a", Status.OK, ""),
            CheckResult("b", Status.UNKNOWN, "", skipped=True),
            CheckResult("c", Status.WARNING, ""),
        ]
    )
    assert status_of(report) is Status.WARNING
    report.results.append(CheckResult("d", Status.UNKNOWN, ""))
    assert status_of(report) is Status.UNKNOWN
    report.results.append(CheckResult("e", Status.CRITICAL, ""))
    assert status_of(report) is Status.CRITICAL
    assert [r.check for r in report.failures] == ["c", "d", "e"]


def test_top_keys() -> None:
    state = TopState()
    assert handle_key(state, "s", None) == ("refresh", None)
    assert state.sort == "messages_ready"
    assert handle_key(state, "r", None)[0] == "refresh" and not state.descending
    _, typing = handle_key(state, "/", None)
    for key in "ord*":
        _, typing = handle_key(state, key, typing)
    assert typing == list("ord*") and state.pattern is None
    assert handle_key(state, "\r", typing) == ("refresh", None)
    assert state.pattern == "ord*"
    assert handle_key(state, "c", None)[0] == "refresh" and state.view == "connections"
    assert handle_key(state, "q", None)[0] == "quit"


def test_sparkline_scales_to_the_largest_sample() -> None:
    assert sparkline([0, 4, 8]) == "▁▄█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""


ROWS = [
    {"name": "a\tb", "messages": 3, "message_stats": {"publish_details": {"rate": 1.5}}},
    {"name": "line\nbreak\\", "messages": 0, "durable": True},
]
COLUMNS = ("name", "messages", "message_stats.publish_details.rate")


def render(fmt: output.ListFormat, columns: tuple[str, ...] | None = COLUMNS) -> str:
    buffer = io.StringIO()
    count = output.emit_listing(iter(ROWS), fmt, columns, reader, stream=buffer)
    assert count == len(ROWS)
    return buffer.getvalue()


def test_tsv_has_a_header_and_escapes_each_row_onto_one_line() -> None:
    lines = render(output.ListFormat.tsv).splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    assert lines[1].split("\t") == ["a\\tb", "3", "1.5"]
    assert lines[2].split("\t") == ["line\\nbreak\\\\", "0", ""]
    parsed = list(csv.reader(io.StringIO(render(output.ListFormat.tsv)), delimiter="\t"))
    assert len(parsed) == 3


cell_values = json_values | st.floats() | st.sampled_from(["\t", "\n", "\r", "\\", "a\tb"])


@given(st.lists(cell_values, max_size=6))
def test_a_tsv_line_is_its_cells_escaped_one_by_one(values: list[Any]) -> None:
    # tsv_line escapes only rows that need it: the same line as escaping every cell.
    assert tsv_line(values) == "\t".join(tsv_cell(value) for value in values)


def test_readers_give_nothing_for_a_missing_or_non_object_step() -> None:
    read = reader("message_stats.publish_details.rate")
    assert read({"message_stats": {"publish_details": {"rate": 2.5}}}) == 2.5
    assert read({"message_stats": {"publish_details": 3}}) is None
    assert read({"message_stats": None}) is None
    assert read({}) is None
    assert read({"message_stats.publish_details.rate": 1}) == 1
    assert reader("name")({"name": "q"}) == "q"


def test_json_jsonl_yaml_parse_back_to_the_rows() -> None:
    assert json.loads(render(output.ListFormat.json)) == ROWS
    lines = render(output.ListFormat.jsonl).splitlines()
    assert [json.loads(line) for line in lines] == ROWS
    assert yaml.safe_load(render(output.ListFormat.yaml)) == ROWS


def test_empty_listings_are_valid_documents() -> None:
    for fmt, parse in (
        (output.ListFormat.json, json.loads),
        (output.ListFormat.yaml, yaml.safe_load),
    ):
        buffer = io.StringIO()
        output.emit_listing(iter([]), fmt, COLUMNS, reader, stream=buffer)
        assert parse(buffer.getvalue()) == []


def test_table_into_a_file_keeps_cells_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    text = render(output.ListFormat.table)
    header = text.splitlines()[0].split()
    assert header == list(COLUMNS)
    assert "a\\tb" in text and "line\\nbreak\\\\" in text  # escaped as in tsv: one line a row
    assert len(text.splitlines()) == 3


def test_a_broker_hanging_up_on_a_long_list_is_said_as_such() -> None:
    """RabbitMQ stops a request after about a minute and closes the connection unanswered."""
    import socket
    import threading

    from mqctl.config import ConnectionOptions, resolve
    from mqctl.errors import Unreachable
    from mqctl.management import ManagementClient

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def hang_up() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    port = server.getsockname()[1]
    settings = resolve(ConnectionOptions(api=f"http://127.0.0.1:{port}"), env={})
    with ManagementClient(settings) as client, pytest.raises(Unreachable) as refused:
        list(client.stream("queues"))
    server.close()
    assert str(refused.value) == (
        f"the management API at http://127.0.0.1:{port} closed the connection without answering "
        "GET /api/queues (RabbitMQ stops a request after about 60 s); for a long list try "
        "--page-size 500 or fewer --columns; or retry when the broker is less busy"
    )

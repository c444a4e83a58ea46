"""The operate library against the real broker: listings against what the API says, one-object
changes checked through the API and pika, purge counts, closing connections, health, top."""

from __future__ import annotations

from typing import Any

import pika
import pika.exceptions
import pytest

from mqctl.errors import BadInput, OperationFailed
from mqctl.operate import changes, health, removal, show, top
from mqctl.operate.columns import get_path
from mqctl.operate.connections import CloseRequest, close_connections
from mqctl.operate.listing import ListRequest, NameFilter, SortKey, list_objects
from tests.operate_helpers import (
    amqp,
    api_get,
    client,
    declare_queues,
    fill,
    publish,
    q,
    queue_depths_settled,
    settings,
    wait_for,
)

pytestmark = pytest.mark.broker

DEPTHS = {"orders.new": 3, "orders.paid": 1, "billing.run": 2, "empty": 0}


@pytest.fixture
def filled(vhost: str) -> str:
    return fill(vhost, DEPTHS)


def rows(vhost: str | None, **kwargs: Any) -> list[dict[str, Any]]:
    with client(vhost or "/") as c:
        return list(
            list_objects(
                c, ListRequest(kind=kwargs.pop("kind", "queues"), vhost=vhost, **kwargs)
            ).rows
        )


def test_queue_listing_is_what_the_api_says(filled: str) -> None:
    listed = {r["name"]: r for r in rows(filled)}
    api = {item["name"]: item for item in api_get(f"queues/{q(filled)}")}
    assert set(listed) == set(api) == set(DEPTHS)
    for name, row in listed.items():
        for column in ("vhost", "type", "state", "messages", "messages_ready", "consumers"):
            assert row.get(column) == api[name].get(column), (name, column, row, api[name])
        assert row["messages"] == DEPTHS[name]


def test_columns_without_statistics_are_read_without_them(filled: str) -> None:
    """Columns the broker has without its statistics (and message counts, from the queues'
    totals) are asked for with disable_stats and enable_queue_totals: the same figures."""
    api = {item["name"]: item for item in api_get(f"queues/{q(filled)}")}
    plain = ("vhost", "name", "type", "durable", "arguments")
    counted = ("name", "type", "messages", "messages_ready", "messages_unacknowledged")
    for columns in (plain, counted):
        listed = rows(filled, columns=columns, sort=SortKey("name"))
        assert [r["name"] for r in listed] == sorted(DEPTHS)
        for row in listed:
            assert set(row) == set(columns), row
            assert row == {c: api[row["name"]][c] for c in columns}
    assert {r["name"]: r["messages"] for r in listed} == DEPTHS


def test_columns_sort_and_filters(filled: str) -> None:
    by_depth = rows(filled, columns=("name", "messages"), sort=SortKey("messages", True))
    assert [r["name"] for r in by_depth] == ["orders.new", "billing.run", "orders.paid", "empty"]
    assert all(set(r) <= {"name", "messages"} for r in by_depth)
    ascending = rows(filled, columns=("name",), sort=SortKey("name"))
    assert [r["name"] for r in ascending] == sorted(DEPTHS)
    globbed = rows(filled, columns=("name",), name_filter=NameFilter("orders.*"))
    assert sorted(r["name"] for r in globbed) == ["orders.new", "orders.paid"]
    regexed = rows(filled, columns=("name",), name_filter=NameFilter(r"\.(new|run)$", regex=True))
    assert sorted(r["name"] for r in regexed) == ["billing.run", "orders.new"]
    nested = rows(filled, columns=("name", "message_stats.publish_details.rate"))
    assert all(set(r.get("message_stats", {})) <= {"publish_details"} for r in nested)
    paged = rows(filled, columns=("name",), name_filter=NameFilter("orders.*"), page_size=1)
    assert sorted(r["name"] for r in paged) == ["orders.new", "orders.paid"]


def test_every_kind_lists(filled: str) -> None:
    with client(filled) as c:
        for kind in (
            "exchanges",
            "bindings",
            "vhosts",
            "users",
            "permissions",
            "policies",
            "nodes",
            "feature-flags",
            "connections",
            "channels",
            "consumers",
        ):
            listing = list_objects(c, ListRequest(kind, filled))
            got = list(listing.rows)
            assert isinstance(got, list)
            if kind == "exchanges":
                assert {"amq.direct", "amq.topic"} <= {r["name"] for r in got}
            if kind == "bindings":
                assert {r["destination"] for r in got} == set(DEPTHS)
            if kind == "vhosts":
                assert filled in {r["name"] for r in got}
            if kind == "users":
                assert all("password_hash" not in r for r in got)


def test_unknown_kind_and_missing_vhost(vhost: str) -> None:
    with client(vhost) as c:
        with pytest.raises(BadInput, match="unknown kind"):
            list_objects(c, ListRequest("queue", vhost))
        with pytest.raises(OperationFailed, match="vhost"):
            list(list_objects(c, ListRequest("queues", vhost + "-missing")).rows)


def test_declare_queue_is_idempotent_and_refuses_a_different_one(vhost: str) -> None:
    doc = changes.queue_document(
        vhost,
        "work",
        queue_type="quorum",
        arguments=changes.parse_arguments(["x-delivery-limit=5"]),
    )
    with client(vhost) as c:
        assert changes.declare(c, doc).action == "created"
        assert changes.declare(c, doc).action == "unchanged"
        other = changes.queue_document(
            vhost, "work", queue_type="quorum", arguments={"x-delivery-limit": 6}
        )
        with pytest.raises(OperationFailed, match="x-delivery-limit is 5 on the broker, 6 asked"):
            changes.declare(c, other)
        with pytest.raises(BadInput, match="must be durable"):
            changes.declare(
                c, changes.queue_document(vhost, "w2", queue_type="quorum", durable=False)
            )
    info = api_get(f"queues/{q(vhost)}/work")
    assert info["type"] == "quorum" and info["arguments"]["x-delivery-limit"] == 5
    connection = amqp(vhost)
    ok = connection.channel().queue_declare("work", passive=True)
    assert ok.method.message_count == 0
    connection.close()


def test_declare_exchange_and_binding_then_delete_them(vhost: str) -> None:
    with client(vhost) as c:
        declare_queues(vhost, {"dest": {}})
        assert (
            changes.declare(c, changes.exchange_document(vhost, "events", "topic")).action
            == "created"
        )
        binding = changes.binding_document(
            vhost, "events", to_queue="dest", routing_key="a.#", arguments={"x-k": 1}
        )
        assert changes.declare(c, binding).action == "created"
        assert changes.declare(c, binding).action == "unchanged"
        with pytest.raises(OperationFailed, match="'missing' is neither declared"):
            changes.declare(c, changes.binding_document(vhost, "events", to_queue="missing"))
        with pytest.raises(BadInput, match="reserved"):
            changes.declare(c, changes.exchange_document(vhost, "amq.mine", "topic"))
    assert api_get(f"exchanges/{q(vhost)}/events")["type"] == "topic"
    bound = api_get(f"bindings/{q(vhost)}/e/events/q/dest")
    assert [(b["routing_key"], b["arguments"]) for b in bound] == [("a.#", {"x-k": 1})]
    connection = amqp(vhost)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("events", "a.b", b"routed", mandatory=True)  # raises if unroutable
    connection.close()
    with client(vhost) as c:
        assert removal.delete_binding(c, binding).action == "deleted"
        assert removal.delete_binding(c, binding).action == "absent"
        assert api_get(f"bindings/{q(vhost)}/e/events/q/dest") == []
        assert removal.delete_exchange(c, vhost, "events").action == "deleted"
        assert removal.delete_exchange(c, vhost, "events").action == "absent"
        with pytest.raises(BadInput, match="reserved"):
            removal.delete_exchange(c, vhost, "amq.topic")


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_delete_refuses_a_queue_holding_messages(vhost: str, queue_type: str) -> None:
    declare_queues(vhost, {"full": {"x-queue-type": queue_type}})
    publish(vhost, "full", 2)
    with client(vhost) as c:
        with pytest.raises(OperationFailed, match="holds 2 message"):
            removal.delete_queue(c, vhost, "full")
        assert api_get(f"queues/{q(vhost)}/full")["name"] == "full"
        result = removal.delete_queue(c, vhost, "full", allow_data_loss=True)
    assert (result.action, result.count) == ("deleted", 2)
    with client(vhost) as c:
        assert removal.delete_queue(c, vhost, "full").action == "absent"


def test_delete_right_after_a_purge_goes_by_the_fresh_count(vhost: str) -> None:
    """The API's statistics still show the purged messages for up to an interval (5 s): the
    delete's check reads a passive declare and the queue totals instead, so it neither refuses
    an empty queue nor claims to have deleted messages (the old check took the larger figure
    and did both, unless a statistics tick fell in the milliseconds between purge and check)."""
    declare_queues(vhost, {"purged": {}, "purged2": {}})
    for name in ("purged", "purged2"):
        publish(vhost, name, 300)
    wait_for(lambda: queue_depths_settled(vhost, {"purged": 300, "purged2": 300}), "depths")
    assert removal.purge_queue(settings(vhost), vhost, "purged").count == 300
    assert removal.purge_queue(settings(vhost), vhost, "purged2").count == 300
    with client(vhost) as c:
        refused_or_not = removal.delete_queue(c, vhost, "purged")
        deleted = removal.delete_queue(c, vhost, "purged2", allow_data_loss=True)
    assert (refused_or_not.action, refused_or_not.count) == ("deleted", 0)
    assert deleted.sentence() == f"deleted queue 'purged2' in vhost {vhost!r}"


def test_delete_counts_a_consumers_unacknowledged_messages(vhost: str) -> None:
    declare_queues(vhost, {"held": {}})
    publish(vhost, "held", 3)
    connection = amqp(vhost)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=10)
    delivered: list[int] = []
    channel.basic_consume("held", lambda ch, method, props, body: delivered.append(1))
    try:
        while len(delivered) < 3:
            connection.process_data_events(time_limit=0.1)
        with client(vhost) as c, pytest.raises(OperationFailed, match="holds 3 message"):
            removal.delete_queue(c, vhost, "held")  # none ready: all three unacknowledged
    finally:
        connection.close()


def test_delete_if_unused_refuses_a_queue_with_a_consumer(vhost: str) -> None:
    declare_queues(vhost, {"busy": {}})
    connection = amqp(vhost)
    connection.channel().basic_consume("busy", lambda *a: None)
    try:
        with client(vhost) as c, pytest.raises(OperationFailed, match="1 consumer"):
            removal.delete_queue(c, vhost, "busy", if_unused=True)
    finally:
        connection.close()
    with client(vhost) as c:
        assert removal.delete_queue(c, vhost, "busy", if_unused=True).action == "deleted"


def test_purge_says_how_many_it_removed(vhost: str) -> None:
    declare_queues(vhost, {"p": {}})
    publish(vhost, "p", 7)
    result = removal.purge_queue(settings(vhost), vhost, "p")
    assert (result.action, result.count) == ("purged", 7)
    assert result.sentence() == f"purged 7 messages from queue 'p' in vhost {vhost!r}"
    connection = amqp(vhost)
    assert connection.channel().queue_declare("p", passive=True).method.message_count == 0
    connection.close()


def test_close_connection_tells_the_client_the_reason(vhost: str, unique: str) -> None:
    victim = amqp(vhost, client_properties={"connection_name": unique})
    try:

        def listed() -> list[dict[str, Any]]:
            with client(vhost) as c:
                found = list(list_objects(c, ListRequest("connections", vhost)).rows)
            return [r for r in found if get_path(r, "client_properties.connection_name") == unique]

        name = str(wait_for(listed, "the connection in the API")[0]["name"])
        with client(vhost) as c:
            dry = close_connections(c, CloseRequest(name=name, dry_run=True))
            assert dry.sentence() == "would close 1 connection" and victim.is_open
            done = close_connections(c, CloseRequest(name=name, reason=f"maintenance {unique}"))
        assert done.connections[0]["connection_name"] == unique
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            for _ in range(100):
                victim.process_data_events(time_limit=0.2)
        assert closed.value.reply_code == 320
        assert f"maintenance {unique}" in closed.value.reply_text
    finally:
        if victim.is_open:
            victim.close()
    # The API lists a closed connection until its collector has seen the close (4.3.6 lagged).
    wait_for(lambda: not listed(), "the closed connection to leave the API")
    with client(vhost) as c, pytest.raises(OperationFailed, match="no connection named"):
        close_connections(c, CloseRequest(name=name))


def test_close_connections_of_a_user(vhost: str, unique: str) -> None:
    password = unique
    from tests.operate_helpers import api_put

    api_put(f"users/{unique}", {"password": password, "tags": ""})
    api_put(f"permissions/{q(vhost)}/{unique}", {"configure": ".*", "write": ".*", "read": ".*"})
    try:
        credentials = pika.PlainCredentials(unique, password)
        victims = [amqp(vhost, credentials=credentials) for _ in range(2)]

        def both() -> bool:
            return len([c for c in api_get("connections") if c.get("user") == unique]) == 2

        wait_for(both, "two connections of the user")
        with client(vhost) as c:
            assert close_connections(c, CloseRequest(user=unique, dry_run=True)).sentence() == (
                "would close 2 connections"
            )
            assert len(close_connections(c, CloseRequest(user=unique)).connections) == 2
        for victim in victims:
            with pytest.raises(pika.exceptions.ConnectionClosedByBroker):
                for _ in range(100):
                    victim.process_data_events(time_limit=0.2)
    finally:
        import requests

        from tests.conftest import API_URL, AUTH

        requests.delete(f"{API_URL}/api/users/{unique}", auth=AUTH, timeout=30)


def test_show_queue_has_bindings_consumers_and_quorum_members(vhost: str) -> None:
    declare_queues(vhost, {"qq": {"x-queue-type": "quorum"}})
    connection = amqp(vhost)
    connection.channel().basic_consume("qq", lambda *a: None, consumer_tag="watcher")
    try:

        def with_consumer() -> dict[str, Any] | None:
            with client(vhost) as c:
                record = show.queue_details(c, vhost, "qq")
            return record if record["consumer_details"] else None

        record = wait_for(with_consumer, "the consumer in the queue's details")
    finally:
        connection.close()
    assert record["type"] == "quorum" and record["leader"] and record["members"]
    assert [c["consumer_tag"] for c in record["consumer_details"]] == ["watcher"]
    assert record["bindings"] == [{"source": "(default)", "routing_key": "qq", "arguments": {}}]
    with client(vhost) as c, pytest.raises(OperationFailed, match="does not exist"):
        show.queue_details(c, vhost, "nope")


def test_show_overview(broker: str) -> None:
    with client("/") as c:
        record = show.overview(c)
    assert record["product_version"] == api_get("overview")["product_version"]
    assert record["nodes"] and record["alarms"] == []
    assert set(record["rates"]) >= {"publish", "deliver_get", "ack"}


def test_health_checks_run_and_thresholds_judge_queues(filled: str) -> None:
    with client(filled) as c:
        report = health.run_health(c, health.HealthSettings())
        names = {r.check for r in report.results}
        assert set(health.CHECK_NAMES) <= names
        assert all(r.status in health.Status for r in report.results)
        alarms = next(r for r in report.results if r.check == "alarms")
        assert alarms.status is health.Status.OK  # the shared broker never gets a watermark
        thresholds = health.parse_thresholds(
            [("max-messages", ["orders.*=1,2"]), ("min-consumers", ["billing.*=1"])]
        )
        settings = health.HealthSettings(thresholds=thresholds, vhost=filled)
    expected = [
        f"CRITICAL max-messages orders.*: queue 'orders.new' in vhost {filled!r} has messages 3 "
        "(wanted messages at most 1,2)",
        f"CRITICAL min-consumers billing.*: queue 'billing.run' in vhost {filled!r} has "
        "consumers 0 (wanted consumers at least 1)",
    ]

    def judged() -> health.HealthReport | None:  # the API's figures can lag: poll
        with client(filled) as c:
            report = health.run_health(c, settings)
        return report if sorted(r.line() for r in report.results) == expected else None

    assert wait_for(judged, "the thresholds' verdicts").status is health.Status.CRITICAL


def test_top_snapshot_sorts_filters_and_keeps_history(filled: str) -> None:
    state = top.TopState(vhost=filled, limit=2)
    with client(filled) as c:
        first = top.take_snapshot(c, state)
        assert [r["name"] for r in first.rows] == ["orders.new", "billing.run"]
        assert first.total == 4
        publish(filled, "orders.new", 2)
        wait_for(lambda: queue_depths_settled(filled, {**DEPTHS, "orders.new": 5}), "new depth")
        second = top.take_snapshot(c, state)
        assert second.marks[0] == {"history": [3, 5], "growing": True, "idle": True}
        state.pattern = "billing.*"
        third = top.take_snapshot(c, state)
        assert [r["name"] for r in third.rows] == ["billing.run"] and third.total == 1

"""The operate commands as users run them: exact exit statuses and messages, every format
parsed, `top --once`, and `top` driven in a real terminal (tmux)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

from tests.conftest import AMQP_URL, API_URL, AUTH, ROOT
from tests.operate_helpers import (
    api_get,
    declare_queues,
    fill,
    publish,
    q,
    wait_for,
)
from tests.topology_helpers import Cli

pytestmark = pytest.mark.broker

DEPTHS = {"orders.new": 3, "orders.paid": 1, "billing.run": 2}


@pytest.fixture
def cli(clean_env: object) -> Cli:
    return Cli()


@pytest.fixture
def filled(vhost: str) -> str:
    return fill(vhost, DEPTHS)


def test_list_in_every_format(cli: Cli, filled: str) -> None:
    base = ("list", "queues", "--vhost", filled, "--sort=-messages", "--columns", "name,messages")
    tsv = cli(*base)  # not a terminal: tsv with a header line
    assert tsv.status == 0, tsv.err
    assert list(csv.reader(io.StringIO(tsv.out), delimiter="\t")) == [
        ["name", "messages"],
        ["orders.new", "3"],
        ["billing.run", "2"],
        ["orders.paid", "1"],
    ]
    expected = [
        {"name": "orders.new", "messages": 3},
        {"name": "billing.run", "messages": 2},
        {"name": "orders.paid", "messages": 1},
    ]
    assert json.loads(cli(*base, "--format", "json").out) == expected
    lines = cli(*base, "--format", "jsonl").out.splitlines()
    assert [json.loads(line) for line in lines] == expected
    assert yaml.safe_load(cli(*base, "--format", "yaml").out) == expected
    table = cli(*base, "--format", "table").out.splitlines()
    assert table[0].split() == ["name", "messages"]
    assert [line.split() for line in table[1:]] == [
        [r["name"], str(r["messages"])] for r in expected
    ]


def test_list_json_is_what_the_api_gives(cli: Cli, filled: str) -> None:
    run = cli("list", "queues", "--vhost", filled, "--format", "json", "--columns", "all")
    assert run.status == 0, run.err
    ours = {row["name"]: row for row in json.loads(run.out)}
    api = {row["name"]: row for row in api_get(f"queues/{q(filled)}")}
    assert set(ours) == set(api)
    for name, row in ours.items():
        for field in ("vhost", "durable", "arguments", "type", "messages", "messages_ready"):
            assert row.get(field) == api[name].get(field)


def test_list_filters_and_errors(cli: Cli, filled: str) -> None:
    run = cli("list", "queues", "--vhost", filled, "--filter", "orders.*", "--columns", "name")
    assert sorted(run.out.split()[1:]) == ["orders.new", "orders.paid"]
    run = cli(
        "list", "queues", "--vhost", filled, "--filter", "run$", "--regex", "--columns", "name"
    )
    assert run.out.split()[1:] == ["billing.run"]
    bad = cli("list", "queue")
    assert bad.status == 4
    assert bad.err.startswith("mqctl: error: unknown kind 'queue'; one of: queues, exchanges")
    bad = cli("list", "queues", "--filter", "(", "--regex")
    assert bad.status == 4 and "is not a regular expression" in bad.err
    both = cli("list", "queues", "--vhost", filled, "--all-vhosts")
    assert (both.status, both.err) == (
        4,
        "mqctl: error: --vhost and --all-vhosts were both given; choose one\n",
    )
    for fmt in ("tsv", "json", "jsonl", "yaml"):  # a failed listing writes nothing to stdout
        gone = cli("list", "queues", "--vhost", filled + "-gone", "--format", fmt)
        assert (gone.status, gone.out) == (1, "") and "check the vhost's name" in gone.err
    none = cli("list", "queues", "--vhost", filled, "--filter", "nomatch*", "--format", "tsv")
    assert none.status == 0 and none.out.startswith("vhost\tname\ttype\t")
    assert none.out.count("\n") == 1  # the header line alone


def test_list_refuses_a_column_with_an_empty_step(cli: Cli, filled: str) -> None:
    for columns in ("name,,x", "name..x", "name,messages..ready", ".name", "name."):
        run = cli("list", "queues", "--vhost", filled, "--columns", columns)
        assert (run.status, run.out) == (4, ""), columns
        assert run.err == (
            f"mqctl: error: --columns {columns!r}: a column is a field name, dotted for nested "
            "ones; e.g. --columns name,messages,message_stats.publish_details.rate, or --columns "
            "all\n"
        )


def test_list_refuses_a_sort_field_no_row_has(cli: Cli, filled: str) -> None:
    for kind, sort in (
        ("queues", "no_such_field"),
        ("queues", "-no_such_field"),
        ("feature-flags", "nope"),
        # past a value: RabbitMQ answers 500 before any row (3.10, 4.x) rather than sorting
        ("queues", "durable.x"),
        ("exchanges", "-type.x"),
    ):
        run = cli("list", kind, "--vhost", filled, "--sort", sort, "--columns", "name")
        field = sort.removeprefix("-")
        assert (run.status, run.out) == (4, ""), sort
        assert run.err == (
            f"mqctl: error: --sort {field!r}: {kind} have no such field; see their field names "
            f"with mqctl list {kind} --columns all --format json\n"
        )
    # A real field still sorts. (Whether a queue's message_stats shows up at all depends on the
    # broker's stats timing, so fields it may lack are tested on an idle queue, below.)
    run = cli("list", "queues", "--vhost", filled, "--sort", "-messages", "--columns", "name")
    assert (run.status, run.out.split()) == (
        0,
        ["name", "orders.new", "billing.run", "orders.paid"],
    )


def test_list_explains_a_dotted_sort_the_broker_fails_on(cli: Cli, vhost: str) -> None:
    # A field the kind vouches for (a queue's arguments), followed past its value: 3.10 answers
    # 500 rather than sorting; mqctl says why. A broker that sorts anyway gives the rows.
    declare_queues(vhost, {"capped": {"x-max-length": 10}})
    sort = "arguments.x-max-length.y"
    broker = requests.get(
        f"{API_URL}/api/queues/{q(vhost)}", params={"sort": sort}, auth=AUTH, timeout=60
    )
    run = cli("list", "queues", "--vhost", vhost, "--sort", sort, "--columns", "name")
    if broker.status_code == 500:
        assert (run.status, run.out) == (1, "")
        assert run.err.startswith(
            f"mqctl: error: the broker could not sort queues by {sort!r}: GET /api/queues/"
        )
        assert run.err.endswith(
            "; a dotted --sort field leads through objects to a value; see the fields with "
            "mqctl list queues --columns all --format json\n"
        )
    else:
        assert broker.status_code == 200
        assert (run.status, run.out) == (0, "name\ncapped\n"), run.err


def test_list_sorts_by_fields_absent_at_times(cli: Cli, vhost: str) -> None:
    declare_queues(vhost, {"idle": {}})
    (row,) = api_get(f"queues/{q(vhost)}")
    assert "message_stats" not in row and "policy" not in row  # no traffic, no policy
    for sort in (
        "message_stats.publish_details.rate",
        "-message_stats.publish_details.rate",
        "policy",
        "effective_policy_definition.max-length",
        "consumer_utilisation",
        "idle_since",
        "messages_details.rate",
        "arguments.x-max-length",
        "-messages",
    ):
        run = cli("list", "queues", "--vhost", vhost, "--sort", sort, "--columns", "name")
        assert (run.status, run.out) == (0, "name\nidle\n"), (sort, run.err)


def test_declare_delete_purge_close_through_the_cli(cli: Cli, vhost: str, unique: str) -> None:
    run = cli(
        "declare",
        "queue",
        "work",
        "--vhost",
        vhost,
        "--type",
        "quorum",
        "--argument",
        "x-delivery-limit=3",
    )
    assert (run.status, run.out) == (0, f"created queue 'work' in vhost {vhost!r}\n")
    again = cli(
        "declare",
        "queue",
        "work",
        "--vhost",
        vhost,
        "--type",
        "quorum",
        "--argument",
        "x-delivery-limit=3",
    )
    assert (
        again.out
        == f"queue 'work' in vhost {vhost!r} exists with these properties: nothing to change\n"
    )
    other = cli("declare", "queue", "work", "--vhost", vhost, "--type", "classic")
    assert other.status == 1
    assert (
        'exists with other properties: type is "quorum" on the broker, "classic" asked' in other.err
    )
    bad = cli("declare", "queue", "w2", "--vhost", vhost, "--type", "stream", "--no-durable")
    assert (bad.status, bad.err) == (
        4,
        "mqctl: error: a stream queue must be durable (allowed: durable: true)\n",
    )
    assert cli("declare", "exchange", "ev", "--type", "fanout", "--vhost", vhost).status == 0
    run = cli("declare", "binding", "--from", "ev", "--to-queue", "work", "--vhost", vhost)
    assert run.status == 0 and api_get(f"bindings/{q(vhost)}/e/ev/q/work")
    publish(vhost, "work", 4)
    refused = cli("delete", "queue", "work", "--vhost", vhost)
    assert (refused.status, refused.err) == (
        1,
        f"mqctl: error: queue 'work' in vhost {vhost!r} holds 4 message(s); nothing was deleted; "
        "consume, move or purge them first, or pass --allow-data-loss to delete them with it\n",
    )
    purged = cli("purge", "queue", "work", "--vhost", vhost)
    assert (purged.status, purged.out) == (
        0,
        f"purged 4 messages from queue 'work' in vhost {vhost!r}\n",
    )
    assert (
        cli("delete", "binding", "--from", "ev", "--to-queue", "work", "--vhost", vhost).status == 0
    )
    assert api_get(f"bindings/{q(vhost)}/e/ev/q/work") == []
    assert (
        cli("delete", "queue", "work", "--vhost", vhost).out
        == f"deleted queue 'work' in vhost {vhost!r}\n"
    )
    assert cli("delete", "queue", "work", "--vhost", vhost).out == (
        f"queue 'work' in vhost {vhost!r} does not exist: nothing to delete\n"
    )
    assert cli("delete", "exchange", "ev", "--vhost", vhost).status == 0
    reserved = cli("delete", "exchange", "amq.direct", "--vhost", vhost)
    assert reserved.status == 4 and "reserved" in reserved.err
    missing = cli("close", "connection", f"nobody {unique}")
    assert missing.status == 1 and f"no connection named 'nobody {unique}'" in missing.err
    dry = cli("close", "connection", "--user", unique, "--dry-run")
    assert (dry.status, dry.out) == (0, "would close 0 connections\n")


def test_health_exit_statuses(cli: Cli, filled: str) -> None:
    ok = cli("health", "alarms", "local-alarms", "listeners")
    assert ok.status == 0, ok.out
    assert ok.out.endswith("checks passed\n")
    critical = cli("health", "--vhost", filled, "--max-messages", "orders.*=2")
    assert critical.status == 2
    assert critical.out == (
        f"CRITICAL max-messages orders.*: queue 'orders.new' in vhost {filled!r} has messages 3 "
        "(wanted messages at most 2)\n"
    )
    warning = cli("health", "--vhost", filled, "--max-messages", "orders.*=2,5", "--format", "json")
    report = json.loads(warning.out)
    assert warning.status == 1 and report["status"] == "WARNING" and report["exit_status"] == 1
    unknown = cli("health", "--vhost", filled, "--min-consumers", "nothing.*=1")
    assert unknown.status == 3 and "no queue matches 'nothing.*'" in unknown.out
    bad = cli("health", "nonsense")
    assert bad.status == 4 and "unknown check 'nonsense'" in bad.err
    skipped = cli("health", "deprecated-features")  # named: a broker without the API is UNKNOWN
    version = api_get("overview")["rabbitmq_version"]
    if version.startswith("3.") and int(version.split(".")[1]) < 13:
        assert skipped.status == 3 and "3.13 and later" in skipped.out


def test_show_commands(cli: Cli, filled: str) -> None:
    overview = cli("show", "overview", "--format", "json")
    record = json.loads(overview.out)
    assert record["product_version"] == api_get("overview")["product_version"]
    queue = cli("show", "queue", "orders.new", "--vhost", filled, "--format", "yaml")
    details = yaml.safe_load(queue.out)
    assert details["messages"] == 3 and details["bindings"][0]["routing_key"] == "orders.new"
    tsv = cli("show", "queue", "orders.new", "--vhost", filled)
    assert "messages\t3\n" in tsv.out
    gone = cli("show", "queue", "nope", "--vhost", filled)
    assert (gone.status, gone.err) == (
        1,
        f"mqctl: error: queue 'nope' in vhost {filled!r} does not exist; check the name and "
        "--vhost (mqctl list queues)\n",
    )


def test_top_once(cli: Cli, filled: str) -> None:
    run = cli("top", "--once", "--vhost", filled, "--limit", "2")
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("mqctl top: queues  sort -messages  2 of 3  ")
    header = lines[2].split()
    assert header[:4] == ["vhost", "name", "type", "messages"] and header[-2:] == [
        "depth",
        "history",
    ]
    assert lines[3].split()[1:4] == ["orders.new", "classic", "3"]
    assert lines[4].split()[1:4] == ["billing.run", "classic", "2"]


SOCKET = f"mqctl-test-{uuid.uuid4().hex[:8]}"  # a tmux server of our own, not a shared one


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="scripts/setup installs tmux")
def test_top_in_a_real_terminal(filled: str) -> None:
    session = f"mqctl-top-{uuid.uuid4().hex[:8]}"
    command = (  # COLUMNS and LINES from the test's environment would override the pane's size
        f"env -u COLUMNS -u LINES {sys.executable} -m mqctl top --url {AMQP_URL} --api {API_URL} --vhost {filled} "
        "--interval 1; echo TOP-EXITED $?; sleep 60"
    )
    tmux(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "160",
        "-y",
        "40",
        "-c",
        str(ROOT),
        command,
    )
    try:

        def pane() -> str:
            return tmux("capture-pane", "-p", "-t", session)

        def showing(text: str) -> str | None:
            screen = pane()
            return screen if text in screen else None

        try:
            screen = wait_for(lambda: showing("orders.new"), "top's first screen", 30)
        except AssertionError:
            raise AssertionError(f"top's first screen never came:\n{pane()}") from None
        assert "sort -messages" in screen and "q quit" in screen
        styled = tmux("capture-pane", "-p", "-e", "-t", session)
        line = next(line for line in styled.splitlines() if "orders.new" in line)
        assert "\x1b[31m" in line  # red: it holds messages and has no consumer
        rows = [line.split()[1] for line in screen.splitlines() if line.startswith(filled)]
        assert rows == ["orders.new", "billing.run", "orders.paid"]
        tmux("send-keys", "-t", session, "r")
        screen = wait_for(lambda: showing("sort messages "), "ascending sort", 30)
        rows = [line.split()[1] for line in screen.splitlines() if line.startswith(filled)]
        assert rows == ["orders.paid", "billing.run", "orders.new"]
        tmux("send-keys", "-t", session, "/", "bill*")
        wait_for(lambda: showing("filter (glob, Enter applies, Esc cancels): bill*_"), "the prompt")
        tmux("send-keys", "-t", session, "Enter")
        screen = wait_for(lambda: showing("filter bill*"), "the filter applied", 30)
        rows = [line.split()[1] for line in screen.splitlines() if line.startswith(filled)]
        assert rows == ["billing.run"]
        tmux("send-keys", "-t", session, "c")
        wait_for(lambda: showing("mqctl top: connections"), "the connections view", 30)
        tmux("send-keys", "-t", session, "q")
        wait_for(lambda: showing("TOP-EXITED 0"), "top to quit with status 0", 30)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)

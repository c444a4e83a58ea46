"""plan / apply / export / delete / show against the real broker, each test in its own vhost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import API_URL, broker_url
from tests.topology_helpers import Cli, api, definitions, own_vhosts, publish, quote, write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))

pytestmark = pytest.mark.broker


def classic_type_argument(version: tuple[int, ...]) -> dict[str, str]:
    """What the broker's API adds to a classic queue's arguments: 4.x states its type."""
    return {"x-queue-type": "classic"} if version >= (4,) else {}


@pytest.fixture
def cli(clean_env: Path) -> Cli:
    return Cli()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_applies_and_replans_to_zero(
    example: Path, vhost: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPOLOGY_VHOST", vhost)
    first = cli("topology", "plan", str(example))
    assert first.status == 2, first.err
    assert "+ create" in first.out
    applied = cli("topology", "apply", str(example))
    assert applied.status == 0, applied.err
    again = cli("topology", "plan", str(example))
    assert again.status == 0, again.out
    assert " 0 to create, 0 to update, 0 in conflict, 0 to delete" in again.out
    second = cli("topology", "apply", str(example))
    assert second.status == 0
    assert "nothing to change: the broker already matches the files" in second.err


BASE = """\
vhost: {vhost}
exchanges:
  - {{name: ex, type: {ex_type}}}
queues:
  - name: q
    type: {q_type}
    durable: {durable}
    {ttl}
bindings:
  - {{from: ex, to_queue: q, routing_key: k}}
policies:
  - {{name: pol, pattern: ^q$, apply_to: queues, definition: {{max-length: {max_len}}}}}
"""


def base(vhost: str, **over: object) -> str:
    values: dict[str, object] = {
        "vhost": json.dumps(vhost),
        "ex_type": "direct",
        "q_type": "classic",
        "durable": "true",
        "ttl": "message_ttl: 1000",
        "max_len": 10,
    }
    values.update(over)
    return BASE.format(**values)


def stopped_midway(created: int, not_done: int, total: int, *, importing: bool = False) -> str:
    """How apply says what it did before it stopped (the end of its error line)."""
    part = " (the exchanges, queues and bindings being imported may exist in part)"
    return (
        f"apply stopped midway; done: {created} created, 0 updated, 0 recreated, 0 deleted; "
        f"not done: {not_done} of {total} changes{part if importing else ''}; mqctl topology plan "
        "shows what is left; apply again to finish"
    )


QUEUE_RECREATE = "use --recreate (only for an empty queue without consumers)"
QUEUE_FIXED = "a queue's type, durability and arguments cannot change in place; " + QUEUE_RECREATE


@pytest.mark.parametrize(
    ("change", "expected", "refusal"),
    [
        (
            {"ttl": "message_ttl: 2000"},
            "arguments.x-message-ttl: 1000 (broker) -> 2000 (files)",
            "queue 'q' in vhost {vhost!r}: arguments.x-message-ttl is 1000 on the broker, 2000 "
            "in the files; queue arguments cannot change in place; set x-message-ttl with a "
            "policy instead, or " + QUEUE_RECREATE,
        ),
        (
            {"q_type": "quorum", "ttl": ""},
            'type: "classic" (broker) -> "quorum" (files)',
            'queue \'q\' in vhost {vhost!r}: type is "classic" on the broker, "quorum" in the '
            "files; arguments.x-message-ttl is 1000 on the broker, null in the files; "
            + QUEUE_FIXED,
        ),
        (
            {"durable": "false"},
            "durable: true (broker) -> false (files)",
            "queue 'q' in vhost {vhost!r}: durable is true on the broker, false in the files; "
            + QUEUE_FIXED,
        ),
        (
            {"ex_type": "fanout"},
            'type: "direct" (broker) -> "fanout" (files)',
            'exchange \'ex\' in vhost {vhost!r}: type is "direct" on the broker, "fanout" in '
            "the files; an exchange's type, flags and arguments cannot change in place; delete "
            "it (mqctl topology delete) and apply again, or use a policy for alternate-exchange",
        ),
    ],
    ids=["queue-argument", "queue-type", "queue-durability", "exchange-type"],
)
def test_conflicts_are_refused_with_the_field_diff_and_nothing_changes(
    change: dict[str, object],
    expected: str,
    refusal: str,
    vhost: str,
    cli: Cli,
    tmp_path: Path,
    broker_version: tuple[int, ...],
) -> None:
    original = write(tmp_path / "a.yaml", base(vhost))
    assert cli("topology", "apply", str(original)).status == 0
    before = definitions(vhost)
    changed = write(tmp_path / "b.yaml", base(vhost, max_len=20, **change))
    plan = cli("topology", "plan", str(changed))
    assert plan.status == 2
    assert "! conflict" in plan.out and expected in plan.out
    assert "~ update    policy" in plan.out
    result = cli("topology", "apply", str(changed))
    assert result.status == 1
    error = (
        "mqctl: error: 1 object conflicts with the broker; nothing was changed:\n  "
        + refusal.format(vhost=vhost)
        + "\n"
    )
    assert result.err.endswith(error)
    warned = result.err[: -len(error)]
    if broker_version >= (4,) and change.get("durable") == "false":
        # 4.x deprecates transient queues: said once, located in the files, before the refusal
        assert warned.startswith(f"warning: {changed}:") and warned.count("\n") == 1
        assert "a transient (durable: false) queue that is not exclusive is deprecated" in warned
    else:
        assert warned == ""
    assert definitions(vhost) == before  # not even the policy update went through


def test_ttl_conflict_names_a_policy_as_the_way_out(vhost: str, cli: Cli, tmp_path: Path) -> None:
    assert cli("topology", "apply", str(write(tmp_path / "a.yaml", base(vhost)))).status == 0
    result = cli(
        "topology", "apply", str(write(tmp_path / "b.yaml", base(vhost, ttl="message_ttl: 5")))
    )
    assert result.status == 1
    assert result.err == (
        "mqctl: error: 1 object conflicts with the broker; nothing was changed:\n"
        f"  queue 'q' in vhost {vhost!r}: arguments.x-message-ttl is 1000 on the broker, 5 in the "
        "files; queue arguments cannot change in place; set x-message-ttl with a policy instead, "
        "or use --recreate (only for an empty queue without consumers)\n"
    )


def test_recreate_restores_bindings_keeps_messages_and_refuses_a_consumed_queue(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    assert cli("topology", "apply", str(write(tmp_path / "a.yaml", base(vhost)))).status == 0
    # A binding the files do not declare: --recreate must bring it back too.
    api("POST", f"bindings/{quote(vhost)}/e/amq.topic/q/q", {"routing_key": "extra.#"})
    quorum = write(tmp_path / "b.yaml", base(vhost, q_type="quorum", ttl=""))
    result = cli("topology", "apply", "--recreate", str(quorum))
    assert result.status == 0, result.err
    assert "1 recreated" in result.err
    queue = api("GET", f"queues/{quote(vhost)}/q")
    assert queue["type"] == "quorum"
    keys = {
        (b["source"], b["routing_key"]) for b in api("GET", f"queues/{quote(vhost)}/q/bindings")
    }
    assert {("ex", "k"), ("amq.topic", "extra.#")} <= keys
    assert cli("topology", "plan", str(quorum)).status == 0

    publish(vhost, "q", "keep me")
    back = write(tmp_path / "c.yaml", base(vhost))
    kept = cli("topology", "apply", "--recreate", str(back))  # back to classic, message kept
    assert kept.status == 0, kept.err
    queue = api("GET", f"queues/{quote(vhost)}/q")
    assert queue.get("type", "classic") == "classic"
    assert depth_of(vhost, "q") == 1
    # With a consumer it is refused: deleting the queue would cancel it.
    import pika

    from tests.conftest import AMQP_URL

    url = AMQP_URL.rsplit("/", 1)[0] + "/" + quote(vhost)
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().basic_consume("q", lambda *a: None)
        refused = cli("topology", "apply", "--recreate", str(quorum))
        assert refused.status == 1
        assert refused.err == (
            "mqctl: error: refused before changing anything:\n"
            f"  queue 'q' in vhost {vhost!r}: --recreate refused: it has 1 consumer(s), which "
            "deleting the queue would cancel; stop them first (its messages are kept)\n"
        )
    finally:
        connection.close()


def depth_of(vhost: str, queue: str) -> int:
    import pika

    from tests.conftest import AMQP_URL

    url = AMQP_URL.rsplit("/", 1)[0] + "/" + quote(vhost)
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def test_prune_stays_inside_owned_vhosts_and_the_prefix(
    vhost: str, unique: str, cli: Cli, tmp_path: Path
) -> None:
    other = unique + "-other"
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(vhost)}\nvhosts: [{{name: {json.dumps(vhost)}}}]\n"
        "exchanges: [{name: p.keep, type: topic}]\nqueues: [{name: p.keep}]\n"
        "bindings: [{from: p.keep, to_queue: p.keep, routing_key: a}]\n",
    )
    with own_vhosts(other):
        api("PUT", f"vhosts/{quote(other)}")
        for target in (vhost, other):
            api("PUT", f"queues/{quote(target)}/p.extra", {"durable": True})
            api("PUT", f"queues/{quote(target)}/unprefixed", {"durable": True})
            api("PUT", f"exchanges/{quote(target)}/p.extra-ex", {"type": "fanout"})
        assert cli("topology", "apply", str(files)).status == 0
        # A binding with arguments the files do not declare: found by its properties key.
        api(
            "POST",
            f"bindings/{quote(vhost)}/e/p.keep/q/p.keep",
            {"routing_key": "b/% ü", "arguments": {"x-h": 1}},
        )
        plan = cli("topology", "plan", "--prune", "--prune-prefix", "p.", str(files))
        assert plan.status == 2
        assert plan.out.count("- delete") == 3, plan.out
        assert "unprefixed" not in plan.out and "amq." not in plan.out
        assert cli("topology", "apply", "--prune", "--prune-prefix", "p.", str(files)).status == 0
        names = {q["name"] for q in api("GET", f"queues/{quote(vhost)}")}
        assert names == {"p.keep", "unprefixed"}
        assert {q["name"] for q in api("GET", f"queues/{quote(other)}")} == {
            "p.extra",
            "unprefixed",
        }
        exchanges = {e["name"] for e in api("GET", f"exchanges/{quote(vhost)}")}
        assert "p.extra-ex" not in exchanges and "amq.topic" in exchanges
        bindings = api("GET", f"bindings/{quote(vhost)}/e/p.keep/q/p.keep")
        assert [b["routing_key"] for b in bindings] == ["a"]
        assert cli("topology", "plan", "--prune", "--prune-prefix", "p.", str(files)).status == 0


def test_prune_needs_declared_vhosts(vhost: str, cli: Cli, tmp_path: Path) -> None:
    files = write(tmp_path / "a.yaml", f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q}}]\n")
    result = cli("topology", "apply", "--prune", str(files))
    assert result.status == 1
    assert result.err == (
        "mqctl: error: --prune deletes only inside the vhosts the files own, and these files "
        "declare none; declare the vhosts they own under vhosts:\n"
    )
    assert api("GET", f"queues/{quote(vhost)}") == []


AWKWARD = """\
vhost: {vhost}
vhosts: [{{name: {vhost}}}]
permissions: [{{user: guest}}]
exchanges:
  - {{name: "a/b c%2F ü", type: headers}}
  - {{name: "日本/%", type: topic}}
queues:
  - {{name: "q/1 %20 é"}}
  - {{name: "?#&="}}
bindings:
  - {{from: "日本/%", to_queue: "q/1 %20 é", routing_key: "k/1 %41 ☃.#"}}
  - {{from: "a/b c%2F ü", to_queue: "?#&=", arguments: {{x-match: any, "h/1": "v %"}}}}
  - {{from: "a/b c%2F ü", to_queue: "?#&=", arguments: {{x-match: any, "h/1": "w"}}}}
  - {{from: "日本/%", to_exchange: "a/b c%2F ü", routing_key: "%2F"}}
"""


@pytest.mark.parametrize("via", ["http", "amqp"])
def test_awkward_names(via: str, unique: str, cli: Cli, tmp_path: Path) -> None:
    name = f"{unique} /v%2F ü"
    text = AWKWARD.format(vhost=json.dumps(name))
    files = write(tmp_path / "a.yaml", text)
    with own_vhosts(name):
        if via == "amqp":  # vhosts need the management API: create it there, then go over AMQP
            head = write(tmp_path / "v.yaml", text.split("exchanges:")[0])
            assert cli("topology", "apply", str(head)).status == 0
            body = write(
                tmp_path / "b.yaml",
                f"vhost: {json.dumps(name)}\nexchanges:" + text.split("exchanges:")[1],
            )
            applied = cli("topology", "apply", "--via", "amqp", str(body))
        else:
            applied = cli("topology", "apply", str(files))
        assert applied.status == 0, applied.err
        assert cli("topology", "plan", str(files)).status == 0
        state = definitions(name)
        assert {q["name"] for q in state["queues"]} == {"q/1 %20 é", "?#&="}
        assert len(state["bindings"]) == 4
        # One of two bindings that differ only in their arguments is deleted by its properties key.
        fewer = write(
            tmp_path / "c.yaml",
            "\n".join(line for line in text.splitlines() if '"w"' not in line) + "\n",
        )
        pruned = cli("topology", "apply", "--prune", str(fewer))
        assert pruned.status == 0, pruned.err
        left = [b["arguments"] for b in definitions(name)["bindings"] if b["destination"] == "?#&="]
        assert left == [{"x-match": "any", "h/1": "v %"}]


def test_http_and_amqp_give_the_same_broker_state(unique: str, cli: Cli, tmp_path: Path) -> None:
    names = [f"{unique}-http", f"{unique}-amqp"]
    with own_vhosts(*names):
        for name in names:
            api("PUT", f"vhosts/{quote(name)}")
            api(
                "PUT",
                f"permissions/{quote(name)}/guest",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )
        for example in EXAMPLES:
            text = example.read_text(encoding="utf-8")
            if "policies:" in text:  # policies need http; the rest goes both ways
                text = text.split("policies:")[0]
            for name, via in zip(names, ("http", "amqp"), strict=True):
                path = write(
                    tmp_path / f"{via}-{example.name}",
                    text.replace("${TOPOLOGY_VHOST:-/}", json.dumps(name)),
                )
                result = cli("topology", "apply", "--via", via, str(path))
                assert result.status == 0, (example.name, via, result.err)
        assert definitions(names[0]) == definitions(names[1])
        # And the AMQP side reads back as unchanged through either transport.
        path = tmp_path / f"amqp-{EXAMPLES[0].name}"
        assert cli("topology", "plan", str(path)).status == 0


def test_amqp_reports_a_conflict_from_the_broker(
    vhost: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    text = f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q, message_ttl: 1000}}]\n"
    assert (
        cli("topology", "apply", "--via", "amqp", str(write(tmp_path / "a.yaml", text))).status == 0
    )
    again = cli("topology", "plan", "--via", "amqp", str(tmp_path / "a.yaml"))
    assert again.status == 0 and "= ensure" in again.out
    # The reason is given once for all the objects it covers, not on every line.
    assert again.out.count("AMQP cannot read its properties") == 1
    assert "= ensure (1 object): exists; AMQP cannot read its properties" in again.out
    changed = write(tmp_path / "b.yaml", text.replace("1000", "2000"))
    result = cli("topology", "apply", "--via", "amqp", str(changed))
    assert result.status == 1
    assert result.err == (
        f"mqctl: error: declaring in vhost {vhost!r} failed: 406 PRECONDITION_FAILED - "
        f"inequivalent arg 'x-message-ttl' for queue 'q' in vhost {vhost!r}: received '2000' but "
        "current is '1000'; the object exists with other properties; compare them "
        "(mqctl topology plan); " + stopped_midway(0, 1, 1, importing=True) + "\n"
    )
    assert api("GET", f"queues/{quote(vhost)}/q")["arguments"] == {
        "x-message-ttl": 1000,
        **classic_type_argument(broker_version),
    }


def test_amqp_names_the_conflict_among_many_channels(
    vhost: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    """Declares go out over many channels at once; one refused among them is still named."""
    api("PUT", f"queues/{quote(vhost)}/q37", {"durable": True, "arguments": {"x-max-length": 5}})
    queues = ", ".join(f"{{name: q{i}}}" for i in range(80))
    bindings = ", ".join(f"{{from: x, to_queue: q{i}, routing_key: k{i}}}" for i in range(80))
    text = (
        f"vhost: {json.dumps(vhost)}\nexchanges: [{{name: x, type: direct}}]\n"
        f"queues: [{queues}]\nbindings: [{bindings}]\n"
    )
    result = cli("topology", "apply", "--via", "amqp", str(write(tmp_path / "a.yaml", text)))
    assert result.status == 1, result.err
    assert result.err == (
        f"mqctl: error: declaring in vhost {vhost!r} failed: 406 PRECONDITION_FAILED - "
        f"inequivalent arg 'x-max-length' for queue 'q37' in vhost {vhost!r}: received none but "
        "current is the value '5' of type 'long'; the object exists with other properties; "
        "compare them (mqctl topology plan); " + stopped_midway(0, 161, 161, importing=True) + "\n"
    )
    assert api("GET", f"queues/{quote(vhost)}/q37")["arguments"] == {
        "x-max-length": 5,
        **classic_type_argument(broker_version),
    }
    # Existing objects are declared again before anything is created: nothing else was made.
    state = definitions(vhost)
    assert [q["name"] for q in state["queues"]] == ["q37"]
    assert state["exchanges"] == [] and state["bindings"] == []


def test_amqp_keeps_to_the_channel_limit_the_url_sets(vhost: str, cli: Cli, tmp_path: Path) -> None:
    queues = ", ".join(f"{{name: q{i}}}" for i in range(30))
    text = f"vhost: {json.dumps(vhost)}\nqueues: [{queues}]\n"
    files = write(tmp_path / "a.yaml", text)
    url = f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost)}?channel_max=8"
    applied = cli.raw("topology", "apply", "--via", "amqp", "--url", url, str(files))
    assert applied.status == 0, applied.err
    planned = cli.raw("topology", "plan", "--via", "amqp", "--url", url, str(files))
    assert planned.status == 0, planned.err
    assert len(definitions(vhost)["queues"]) == 30


def test_amqp_unknown_exchange_type_fails_cleanly_before_the_rest(
    vhost: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    """No plugin provides the type: 3.x closes the connection (503), 4.x the channel (406). mqctl
    says so in one line with the way out, and declared such exchanges first, so nothing else was
    created."""
    text = (
        f"vhost: {json.dumps(vhost)}\n"
        "exchanges: [{name: plain, type: direct}, {name: odd, type: x-no-such-plugin}]\n"
        "queues: [{name: q}]\n"
    )
    result = cli("topology", "apply", "--via", "amqp", str(write(tmp_path / "a.yaml", text)))
    assert result.status == 1
    refusal = (
        "the broker closed the connection: 503 COMMAND_INVALID"
        if broker_version < (4,)
        else f"declaring in vhost {vhost!r} failed: 406 PRECONDITION_FAILED"
    )
    assert result.err == (
        f"mqctl: error: {refusal} - unknown exchange type 'x-no-such-plugin'; no enabled plugin "
        "provides this exchange type: enable the plugin that does (rabbitmq-plugins enable ...) "
        "or use a built-in type; " + stopped_midway(0, 3, 3, importing=True) + "\n"
    )
    state = definitions(vhost)
    assert state["queues"] == [] and [e["name"] for e in state["exchanges"]] == []


def test_amqp_refuses_arguments_it_cannot_encode_before_sending(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    text = (
        f"vhost: {json.dumps(vhost)}\nqueues: [{{name: a}}, "
        "{name: b, arguments: {x-big: 99999999999999999999}}]\n"
    )
    result = cli("topology", "apply", "--via", "amqp", str(write(tmp_path / "a.yaml", text)))
    assert result.status == 4
    # Refused when the file is read (issue 15: the API would make it a float), before AMQP's own
    # check of what it can encode.
    assert result.err.splitlines() == [
        "mqctl: error: the topology is invalid (1 problem); nothing was applied",
        f"{tmp_path / 'a.yaml'}:2:50: 99999999999999999999 does not fit in 64 bits (allowed: a "
        "whole number from -9223372036854775808 to 9223372036854775807)",
    ]
    assert definitions(vhost)["queues"] == []


def test_amqp_refuses_what_it_cannot_declare(vhost: str, cli: Cli, tmp_path: Path) -> None:
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q}}]\n"
        "policies: [{name: p, pattern: x, definition: {max-length: 1}}]\n",
    )
    result = cli("topology", "apply", "--via", "amqp", str(files))
    assert result.status == 4
    assert result.err == (
        "mqctl: error: --via amqp: the files also declare 1 policies; AMQP 0-9-1 can declare "
        "only exchanges, queues and bindings; vhosts, users, permissions, policies and "
        "parameters need the management API; use --via auto (the default) or http, or keep those "
        "objects in a file applied over http\n"
    )


def test_round_trip_export_wipe_apply(
    vhost: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPOLOGY_VHOST", vhost)
    for example in EXAMPLES:
        assert cli("topology", "apply", str(example)).status == 0
    before = definitions(vhost)
    for fmt, suffix in (("yaml", "yaml"), ("json", "json"), ("definitions", "json")):
        exported = cli("topology", "export", "--vhost", vhost, "--format", fmt)
        assert exported.status == 0, exported.err
        path = write(tmp_path / f"export-{fmt}.{suffix}", exported.out)
        if fmt == "yaml":  # the same export from 3.x and 4.x (which reads internal ones apart)
            assert "- name: payments.unroutable\n  type: fanout\n  internal: true\n" in exported.out
            assert "x-queue-type" not in exported.out  # 4.x's implicit classic is no statement
        assert cli("topology", "plan", str(path)).status == 0
        api("DELETE", f"vhosts/{quote(vhost)}")  # wipe
        result = cli("topology", "apply", str(path))
        assert result.status == 0, result.err
        assert definitions(vhost) == before, fmt
        assert cli("topology", "plan", str(path)).status == 0


def test_plan_json_for_scripts(vhost: str, cli: Cli, tmp_path: Path) -> None:
    files = write(tmp_path / "a.yaml", base(vhost))
    plan = cli("topology", "plan", "--format", "json", str(files))
    assert plan.status == 2
    document = json.loads(plan.out)
    assert document["summary"]["create"] == 4 and document["has_changes"] is True
    assert sorted(c["kind"] for c in document["changes"]) == [
        "bindings",
        "exchanges",
        "policies",
        "queues",
    ]
    assert {c["action"] for c in document["changes"]} == {"create"}
    assert all(c["location"].startswith(str(files)) for c in document["changes"])


def test_users_passwords_are_applied_and_never_printed(
    unique: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"{unique}-user"
    secret = f"s3cret-{unique}"
    monkeypatch.setenv("APP_PASSWORD", secret)
    files = write(
        tmp_path / "a.yaml",
        f"users: [{{name: {user}, password_env: APP_PASSWORD, tags: [management]}}]\n",
    )
    try:
        applied = cli("topology", "apply", str(files))
        assert applied.status == 0, applied.err
        assert secret not in applied.out + applied.err
        assert requests.get(f"{API_URL}/api/whoami", auth=(user, secret), timeout=10).ok
        assert cli("topology", "plan", str(files)).status == 0
        monkeypatch.setenv("APP_PASSWORD", secret + "-rotated")
        rotated = cli("topology", "plan", str(files))
        assert rotated.status == 2
        assert "password" in rotated.out and secret not in rotated.out
    finally:
        api("DELETE", f"users/{quote(user)}")


def test_delete_shows_then_removes(vhost: str, cli: Cli, tmp_path: Path) -> None:
    files = write(tmp_path / "a.yaml", base(vhost))
    assert cli("topology", "apply", str(files)).status == 0
    refused = cli("topology", "delete", str(files))
    assert refused.status == 4 and "add --yes" in refused.err
    assert len(api("GET", f"queues/{quote(vhost)}")) == 1
    done = cli("topology", "delete", "--yes", str(files))
    assert done.status == 0
    assert "- delete" in done.out
    assert api("GET", f"queues/{quote(vhost)}") == []
    assert cli("topology", "plan", str(files)).status == 2


def test_show_live_and_dot(vhost: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPOLOGY_VHOST", vhost)
    example = ROOT / "topologies" / "dead-letter-retry.yaml"
    assert cli("topology", "apply", str(example)).status == 0
    tree = cli("topology", "show", "--live", "--vhost", vhost)
    assert tree.status == 0
    assert "(DLX) dead-letter -> exchange 'orders'" in tree.out
    assert "[order.#] -> queue 'orders.process'" in tree.out
    dot = cli("topology", "show", str(example), "--format", "dot")
    assert dot.out.startswith("digraph topology {") and "style=dotted" in dot.out
    ae = cli(
        "topology",
        "show",
        str(ROOT / "topologies" / "alternate-exchange.yaml"),
        "--format",
        "mermaid",
    )
    assert ae.out.startswith("flowchart LR") and '-.->|"AE"|' in ae.out


def test_undeclared_references_are_refused_before_anything_changes(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q}}]\n"
        "bindings: [{from: nowhere, to_queue: q}]\n",
    )
    result = cli("topology", "apply", str(files))
    assert result.status == 1
    assert result.err == (
        "mqctl: error: refused before changing anything (1 reason):\n"
        f"  binding 'nowhere' -> queue 'q' key '' in vhost {vhost!r}: exchange 'nowhere' is "
        "neither declared in the files nor present on the broker\n"
    )
    assert api("GET", f"queues/{quote(vhost)}") == []


def test_vhost_metadata_limits_users_and_operator_policies(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    name, user = unique, f"{unique}-u"
    text = f"""\
vhost: {name}
vhosts:
  - {{name: {name}, description: first, tags: [a], default_queue_type: quorum,
     limits: {{max_connections: 50, max_queues: 100}}}}
users:
  - {{name: {user}, password: pw-{unique}, tags: [management], limits: {{max_connections: 5}}}}
permissions:
  - {{user: guest}}
  - {{user: {user}, configure: "^x"}}
topic_permissions:
  - {{user: {user}, exchange: amq.topic, write: "^a"}}
operator_policies:
  - {{name: op, pattern: ".*", apply_to: queues, definition: {{max-length: 1000}}}}
queues:
  - {{name: by-default}}
  - {{name: explicit, type: classic}}
"""
    first = write(tmp_path / "a.yaml", text)
    try:
        with own_vhosts(name):
            assert cli("topology", "apply", str(first)).status == 0
            assert cli("topology", "plan", str(first)).status == 0
            types = {q["name"]: q["type"] for q in api("GET", f"queues/{quote(name)}")}
            assert types == {"by-default": "quorum", "explicit": "classic"}
            assert api("GET", f"vhost-limits/{quote(name)}")[0]["value"] == {
                "max-connections": 50,
                "max-queues": 100,
            }
            changed = write(
                tmp_path / "b.yaml",
                text.replace("first", "second")
                .replace("max_connections: 50", "max_connections: 60")
                .replace("max-length: 1000", "max-length: 10")
                .replace(f"pw-{unique}", f"pw2-{unique}"),
            )
            plan = cli("topology", "plan", str(changed))
            assert plan.status == 2
            assert 'description: "first" (broker) -> "second" (files)' in plan.out
            assert "limits.max-connections: 50 (broker) -> 60 (files)" in plan.out
            assert "definition.max-length: 1000 (broker) -> 10 (files)" in plan.out
            assert "password:" in plan.out and f"pw2-{unique}" not in plan.out
            assert cli("topology", "apply", str(changed)).status == 0
            assert cli("topology", "plan", str(changed)).status == 0
            exported = cli("topology", "export", "--vhost", name)
            assert "operator_policy" not in exported.out  # not repeated as a parameter
            again = write(tmp_path / "export.yaml", exported.out)
            assert cli("topology", "plan", str(again)).status == 0
    finally:
        api("DELETE", f"users/{quote(user)}")


def test_larger_apply_with_awkward_names_replans_to_zero(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    """Hundreds of objects through the definitions import: names with '/', '%', spaces and
    unicode, keys with '~', bindings with arguments; then a plan of zero."""
    import yaml

    doc = {
        "vhost": vhost,
        "exchanges": [{"name": f"x/{i} %", "type": "topic"} for i in range(10)],
        "queues": [
            {"name": f"q {i}/é", **({"message_ttl": 1000} if i % 2 else {})} for i in range(250)
        ],
        "bindings": [
            {
                "from": f"x/{i % 10} %",
                "to_queue": f"q {i % 250}/é",
                "routing_key": f"k.{i}~" if i % 7 == 0 else f"k.{i}",
                **({"arguments": {"n": i}} if i % 5 == 0 else {}),
            }
            for i in range(300)
        ],
    }
    files = write(tmp_path / "big.yaml", yaml.safe_dump(doc, allow_unicode=True))
    result = cli("topology", "apply", str(files))
    assert result.status == 0, result.err
    assert "560 created" in result.err
    state = definitions(vhost)
    assert (len(state["exchanges"]), len(state["queues"]), len(state["bindings"])) == (10, 250, 300)
    assert cli("topology", "plan", str(files)).status == 0


def test_create_vhosts_creates_the_missing_vhost_first(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "t.yaml",
        f"vhost: {unique}\nexchanges:\n  - {{name: e, type: direct}}\n"
        "queues:\n  - {name: q}\nbindings:\n  - {from: e, to_queue: q, routing_key: k}\n"
        "policies:\n  - {name: p, pattern: '^q$', definition: {message-ttl: 1000}}\n",
    )
    with own_vhosts(unique):
        refused = cli("topology", "apply", str(path))
        assert refused.status == 1
        assert refused.err == (
            "mqctl: error: refused before changing anything (1 reason):\n"
            f"  vhost {unique!r} is used by the files but neither declared in them nor present on "
            "the broker; declare it under vhosts:, create it, or pass --create-vhosts\n"
        )
        assert unique not in {v["name"] for v in api("GET", "vhosts")}

        applied = cli("topology", "apply", "--create-vhosts", str(path))
        assert applied.status == 0, applied.err
        assert api("GET", f"queues/{quote(unique)}/q")["name"] == "q"
        assert api("GET", f"policies/{quote(unique)}/p")["definition"] == {"message-ttl": 1000}
        assert cli("topology", "plan", str(path)).status == 0


def test_export_of_an_unknown_vhost_is_exit_3(unique: str, cli: Cli) -> None:
    result = cli("topology", "export", "--vhost", unique)
    assert (result.status, result.out) == (3, "")
    assert result.err == (
        f"mqctl: error: no such vhost on the broker: '{unique}'; "
        "check --vhost (mqctl topology export --vhost NAME)\n"
    )


def test_recreate_over_amqp_is_refused(vhost: str, cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "t.yaml", f"vhost: {vhost}\nqueues:\n  - {{name: q}}\n")
    result = cli("topology", "apply", "--via", "amqp", "--recreate", str(path))
    assert result.status == 4
    assert result.err == (
        "mqctl: error: --recreate needs --via http: AMQP cannot read a queue's arguments to find "
        "a conflict; drop --recreate or use --via http\n"
    )
    assert api("GET", f"queues/{quote(vhost)}") == []


def test_per_vhost_definitions_export_takes_its_vhost_from_the_option(
    vhost: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    source = write(
        tmp_path / "t.yaml",
        f"vhost: {vhost}\nexchanges:\n  - {{name: e, type: topic}}\n"
        "queues:\n  - {name: q, message_ttl: 1000}\n"
        "bindings:\n  - {from: e, to_queue: q, routing_key: 'a.#'}\n",
    )
    assert cli("topology", "apply", str(source)).status == 0
    # GET /api/definitions/{vhost} writes no `vhost` keys: the file belongs to whichever vhost
    exported = api("GET", f"definitions/{quote(vhost)}")
    assert "vhost" not in exported["queues"][0]
    path = write(tmp_path / "defs.json", json.dumps(exported))

    without = cli("topology", "plan", str(path))
    if broker_version >= (4,):  # 4.x's export names its vhost (original_vhost_name)
        assert without.status == 0, without.err
        assert "3 unchanged" in without.out
    else:
        assert without.status == 4
        advice = "(allowed: vhost: <text>; for a per-vhost export (GET /api/definitions/VHOST) "
        advice += "give --vhost)"
        text = path.read_text(encoding="utf-8")

        def first_entry(section: str) -> int:  # the column of the section's first entry
            return text.index(f'"{section}": [') + len(f'"{section}": [') + 1

        found = sorted(
            (first_entry(section), what)
            for section, what in (
                ("queues", "a queue"),
                ("exchanges", "an exchange"),
                ("bindings", "a binding"),
            )
        )
        assert without.err.splitlines() == [
            "mqctl: error: the topology is invalid (3 problems); nothing was applied",
            *(f"{path}:1:{column}: {what} has no 'vhost' {advice}" for column, what in found),
        ]

    planned = cli("topology", "plan", str(path), "--vhost", vhost)
    assert planned.status == 0, planned.out + planned.err
    assert "3 unchanged" in planned.out


def test_round_trip_with_users(vhost: str, unique: str, cli: Cli, tmp_path: Path) -> None:
    user = f"{unique}-user"
    secret = "Pw-" + unique  # a password that must never be printed
    api("PUT", f"users/{quote(user)}", {"password": secret, "tags": "monitoring"})
    try:
        perms = {"configure": "^app\\.", "write": ".*", "read": ".*"}
        api("PUT", f"permissions/{quote(vhost)}/{quote(user)}", perms)
        stored = api("GET", f"users/{quote(user)}")
        for fmt, suffix in (("yaml", "yaml"), ("definitions", "json")):
            exported = cli("topology", "export", "--vhost", vhost, "--with-users", "--format", fmt)
            assert exported.status == 0, exported.err
            assert secret not in exported.out + exported.err
            assert stored["password_hash"] in exported.out
            without = cli("topology", "export", "--vhost", vhost, "--format", fmt)
            assert stored["password_hash"] not in without.out  # users only when asked for
            path = write(tmp_path / f"export.{suffix}", exported.out)
            api("DELETE", f"vhosts/{quote(vhost)}")  # wipe: the vhost and the user
            api("DELETE", f"users/{quote(user)}")
            result = cli("topology", "apply", str(path))
            assert result.status == 0, result.err
            assert secret not in result.out + result.err
            again = api("GET", f"users/{quote(user)}")
            assert again["password_hash"] == stored["password_hash"], fmt
            assert again["tags"] in (["monitoring"], "monitoring")
            got = api("GET", f"permissions/{quote(vhost)}/{quote(user)}")
            assert {k: got[k] for k in perms} == perms
            assert cli("topology", "plan", str(path)).status == 0
    finally:
        api("DELETE", f"users/{quote(user)}")


def test_a_binding_that_breaks_the_management_api_is_refused(
    vhost: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    """RabbitMQ 3.10's and 4.0.5's API fails every binding listing while a binding with arguments
    has a '~' inside its key: mqctl refuses to create one (both ways, on every version), and
    explains the 500 it causes where the broker has the bug (4.3.6 lists such a binding)."""
    text = (
        f"vhost: {json.dumps(vhost)}\nexchanges: [{{name: x, type: headers}}]\n"
        "queues: [{name: q}]\n"
        "bindings: [{from: x, to_queue: q, routing_key: 'a~b', arguments: {x-match: any, h: v}}]\n"
    )
    files = write(tmp_path / "a.yaml", text)
    for via in ("http", "amqp"):
        refused = cli("topology", "apply", "--via", via, str(files))
        assert refused.status == 1, refused.err
        assert refused.err == (
            "mqctl: error: refused before changing anything (1 reason):\n"
            f'  binding \'x\' -> queue \'q\' key \'a~b\' arguments {{"h":"v","x-match":"any"}} '
            f"in vhost {vhost!r}: a binding with arguments whose routing key has a '~' and does "
            "not end with one breaks RabbitMQ's management API (seen on 3.10 and 4.0: every "
            "listing of bindings and every definitions export fail with 500 while it exists); "
            "change the key or drop the arguments\n"
        )
    assert definitions(vhost)["queues"] == []  # refused before anything changed
    # Keys the API copes with go through: a trailing '~', or no arguments.
    fine = write(tmp_path / "b.yaml", text.replace("'a~b'", "'a~~'"))
    assert cli("topology", "apply", str(fine)).status == 0
    assert cli("topology", "plan", str(fine)).status == 0

    # Made by another tool, such a binding makes the vhost unreadable: the 500 is explained,
    # and delete --via amqp removes it.
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(broker_url(vhost=quote(vhost))))
    try:
        connection.channel().queue_bind("q", "x", "a~b", {"x-match": "any", "h": "v"})
        broken = cli("topology", "plan", str(fine))
        # 3.10 and 4.0.5 answer 500 for the vhost's bindings; mqctl reads 4.3.6's nonetheless.
        if broker_version >= (4, 3):
            assert (broken.status, broken.err) == (0, "")
        else:
            assert broken.status == 1
            assert broken.err == (
                f"mqctl: error: GET /api/definitions/{vhost} failed: 500 Internal Server Error, "
                "and reading the vhost kind by kind failed too: GET /api/bindings/"
                f"{vhost} failed: 500 Internal Server Error; the broker's log names the cause; "
                "one known cause (RabbitMQ 3.10, 4.0) is a binding with arguments and a '~' inside "
                "its routing key: remove it with mqctl topology delete --via amqp FILE, FILE "
                "declaring just that binding\n"
            )
        just_it = write(
            tmp_path / "c.yaml",
            f"vhost: {json.dumps(vhost)}\nbindings: [{{from: x, to_queue: q, "
            "routing_key: 'a~b', arguments: {x-match: any, h: v}}]\n",
        )
        gone = cli("topology", "delete", "--via", "amqp", "--yes", str(just_it))
        assert gone.status == 0, gone.err
        assert "AMQP cannot list bindings: unbound whether it exists or not" in gone.out
        assert cli("topology", "plan", str(fine)).status == 0  # readable again, all else kept
    finally:
        channel = connection.channel()
        channel.queue_unbind("q", "x", "a~b", {"x-match": "any", "h": "v"})
        connection.close()


def test_amqp_refuses_a_binding_to_nothing_before_changing_anything(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    """Over AMQP too, the ends of each binding are checked (passive declares) before any declare:
    a binding from an exchange that exists nowhere leaves the vhost untouched."""
    text = (
        f"vhost: {json.dumps(vhost)}\nexchanges: [{{name: x, type: topic}}]\n"
        "queues: [{name: a}, {name: b}]\n"
        "bindings:\n  - {from: x, to_queue: a, routing_key: 'k.#'}\n"
        "  - {from: elsewhere, to_queue: b, routing_key: k}\n"
    )
    files = write(tmp_path / "a.yaml", text)
    refused = cli("topology", "apply", "--via", "amqp", str(files))
    assert refused.status == 1
    assert refused.err == (
        "mqctl: error: refused before changing anything (1 reason):\n"
        f"  binding 'elsewhere' -> queue 'b' key 'k' in vhost {vhost!r}: exchange 'elsewhere' is "
        "neither declared in the files nor present on the broker\n"
    )
    assert definitions(vhost)["queues"] == []
    # Once the exchange exists on the broker (made elsewhere), the same files apply.
    api("PUT", f"exchanges/{quote(vhost)}/elsewhere", {"type": "direct"})
    applied = cli("topology", "apply", "--via", "amqp", str(files))
    assert applied.status == 0, applied.err
    assert {b["source"] for b in definitions(vhost)["bindings"]} == {"x", "elsewhere"}


def test_amqp_names_a_way_out_it_can_take_for_a_missing_vhost(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    files = write(tmp_path / "a.yaml", f"vhost: {json.dumps(unique)}\nqueues: [{{name: q}}]\n")
    result = cli("topology", "apply", "--via", "amqp", str(files))
    assert result.status == 1
    assert result.err == (
        "mqctl: error: refused before changing anything (1 reason):\n"
        f"  vhost {unique!r} is used by the files but neither declared in them nor present on the "
        "broker; create it first over http (a file declaring it under vhosts:, applied without "
        "--via amqp), or with rabbitmqctl add_vhost\n"
    )


def test_amqp_refuses_what_it_cannot_carry_before_sending_anything(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    long_key = "k" * 300
    text = (
        f"vhost: {json.dumps(vhost)}\nexchanges: [{{name: x, type: topic}}]\n"
        f"queues: [{{name: q}}]\nbindings: [{{from: x, to_queue: q, routing_key: {long_key}}}]\n"
    )
    result = cli("topology", "apply", "--via", "amqp", str(write(tmp_path / "a.yaml", text)))
    assert result.status == 4
    assert result.err == (
        f"mqctl: error: binding 'x' -> queue 'q' key {long_key!r} in vhost {vhost!r}: its "
        "routing key is 300 bytes; AMQP carries at most 255; shorten it\n"
    )
    assert definitions(vhost)["queues"] == []


def test_amqp_sends_float_arguments(vhost: str, cli: Cli, tmp_path: Path) -> None:
    """pika's own table encoder refuses floats; mqctl's field encoding sends them."""
    text = (
        f"vhost: {json.dumps(vhost)}\nexchanges: [{{name: h, type: headers}}]\n"
        "queues: [{name: q}]\n"
        "bindings: [{from: h, to_queue: q, arguments: {x-match: any, f: 1.5}}]\n"
    )
    files = write(tmp_path / "a.yaml", text)
    applied = cli("topology", "apply", "--via", "amqp", str(files))
    assert applied.status == 0, applied.err
    assert [b["arguments"] for b in definitions(vhost)["bindings"]] == [
        {"x-match": "any", "f": 1.5}
    ]
    assert cli("topology", "plan", str(files)).status == 0  # read back over http: unchanged


def test_delete_over_amqp_in_a_missing_vhost_finds_nothing(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    text = (
        f"vhost: {json.dumps(unique)}\nexchanges: [{{name: x, type: direct}}]\n"
        "queues: [{name: q}]\nbindings: [{from: x, to_queue: q, routing_key: k}]\n"
    )
    result = cli(
        "topology", "delete", "--via", "amqp", "--yes", str(write(tmp_path / "a.yaml", text))
    )
    assert result.status == 0, result.err
    assert "nothing to delete" in result.err


def test_prune_refuses_to_delete_a_queue_that_holds_messages(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    """A misspelled section once made apply --prune delete a queue holding messages, exit 0."""
    owned = f"vhost: {json.dumps(vhost)}\nvhosts: [{{name: {json.dumps(vhost)}}}]\n"
    full = write(tmp_path / "a.yaml", owned + "queues: [{name: important}, {name: spare}]\n")
    assert cli("topology", "apply", str(full)).status == 0
    for n in range(5):
        publish(vhost, "important", f"m{n}")
    empty = write(tmp_path / "b.yaml", owned)
    plan = cli("topology", "plan", "--prune", str(empty))
    assert plan.status == 1
    title = f"queue 'important' in vhost {vhost!r}"
    assert f"- delete    {title} (holds 5 messages, 0 consumers)\n" in plan.out
    assert f"- delete    queue 'spare' in vhost {vhost!r} (holds 0 messages, 0 consumers)\n" in (
        plan.out
    )
    refusal = (
        f"{title} would be deleted but holds 5 messages, 0 consumers: deleting it loses them; "
        "consume or move them first, or pass --allow-data-loss"
    )
    assert f"x refused   {refusal}\n" in plan.out
    applied = cli("topology", "apply", "--prune", str(empty))
    assert (applied.status, applied.err) == (
        1,
        f"mqctl: error: refused before changing anything (1 reason):\n  {refusal}\n",
    )
    queues = {q["name"]: q for q in api("GET", f"queues/{quote(vhost)}")}
    assert set(queues) == {"important", "spare"}  # nothing changed, not even the empty one
    forced = cli("topology", "apply", "--prune", "--allow-data-loss", str(empty))
    assert forced.status == 0, forced.err
    assert api("GET", f"queues/{quote(vhost)}") == []


def test_delete_refuses_queues_that_hold_messages_also_inside_a_doomed_vhost(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(unique)}\nvhosts: [{{name: {json.dumps(unique)}}}]\n"
        "queues: [{name: declared}]\n",
    )
    with own_vhosts(unique):
        assert cli("topology", "apply", str(files)).status == 0
        # A queue the files do not declare: deleting the vhost would take it along.
        api("PUT", f"queues/{quote(unique)}/undeclared", {"durable": True})
        publish(unique, "undeclared", "keep me")
        refused = cli("topology", "delete", "--yes", str(files))
        refusal = (
            f"queue 'undeclared' in vhost {unique!r} would be deleted but holds 1 message, "
            "0 consumers: deleting it loses them; consume or move them first, or pass "
            "--allow-data-loss"
        )
        assert (refused.status, refused.err) == (
            1,
            f"mqctl: error: refused before changing anything (1 reason):\n  {refusal}\n",
        )
        assert f"- delete    queue 'undeclared' in vhost {unique!r} (holds 1 message" in refused.out
        assert api("GET", f"queues/{quote(unique)}/undeclared")["name"] == "undeclared"
        forced = cli("topology", "delete", "--yes", "--allow-data-loss", str(files))
        assert forced.status == 0, forced.err
        assert unique not in {v["name"] for v in api("GET", "vhosts")}


def test_delete_of_a_queue_holding_messages_is_refused_over_amqp_too(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    files = write(tmp_path / "a.yaml", f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q}}]\n")
    assert cli("topology", "apply", str(files)).status == 0
    publish(vhost, "q", "x")
    refused = cli("topology", "delete", "--via", "amqp", "--yes", str(files))
    assert refused.status == 1
    assert refused.err == (
        "mqctl: error: refused before changing anything (1 reason):\n"
        f"  queue 'q' in vhost {vhost!r} would be deleted but holds 1 message, 0 consumers: "
        "deleting it loses them; consume or move them first, or pass --allow-data-loss\n"
    )
    assert api("GET", f"queues/{quote(vhost)}/q")["name"] == "q"


@pytest.mark.parametrize("how", ["--vhost", "url", "MQCTL_VHOST"])
def test_objects_without_a_vhost_go_to_the_connections_vhost(
    how: str, vhost: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write(tmp_path / "a.yaml", "queues: [{name: q}]\n")
    args: tuple[str, ...] = ("--api", API_URL)
    if how == "--vhost":
        args += ("--url", "amqp://guest:guest@127.0.0.1:5672/%2f", "--vhost", vhost)
    elif how == "url":
        args += ("--url", f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost)}")
    else:
        monkeypatch.setenv("MQCTL_VHOST", vhost)
        args += ("--url", "amqp://guest:guest@127.0.0.1:5672")
    plan = cli.raw("topology", "plan", str(files), *args)
    assert plan.status == 2, plan.err
    assert plan.out.splitlines()[:2] == [
        f"objects without a vhost go to {vhost!r}, the connection's vhost (--vhost, the URL's "
        "path or MQCTL_VHOST; / when none is given)",
        f"+ create    queue 'q' in vhost {vhost!r}",
    ]
    applied = cli.raw("topology", "apply", str(files), *args)
    assert applied.status == 0, applied.err
    assert [q["name"] for q in api("GET", f"queues/{quote(vhost)}")] == ["q"]


def test_a_per_vhost_export_applied_with_vhost_goes_wholly_to_that_vhost(
    vhost: str, unique: str, cli: Cli, tmp_path: Path, broker_version: tuple[int, ...]
) -> None:
    """The policies of GET /api/definitions/{vhost} name their vhost: with --vhost NEW they
    once changed the source's policy and created none in NEW."""
    source = write(
        tmp_path / "t.yaml",
        f"vhost: {json.dumps(vhost)}\nqueues: [{{name: q}}]\n"
        "policies: [{name: p, pattern: '^q$', apply_to: queues, definition: {max-length: 5}}]\n",
    )
    assert cli("topology", "apply", str(source)).status == 0
    exported = api("GET", f"definitions/{quote(vhost)}")
    if broker_version < (4,):
        assert exported["policies"][0]["vhost"] == vhost
    else:  # 4.x names the vhost once, as original_vhost_name
        assert "vhost" not in exported["policies"][0]
        assert exported["original_vhost_name"] == vhost
    path = write(tmp_path / "defs.json", json.dumps(exported))
    new = unique + "-new"
    with own_vhosts(new):
        api("PUT", f"vhosts/{quote(new)}")
        applied = cli("topology", "apply", str(path), "--vhost", new)
        assert applied.status == 0, applied.err
        assert api("GET", f"policies/{quote(new)}/p")["definition"] == {"max-length": 5}
        assert [q["name"] for q in api("GET", f"queues/{quote(new)}")] == ["q"]
        assert cli("topology", "plan", str(path), "--vhost", new).status == 0
    assert [p["name"] for p in api("GET", f"policies/{quote(vhost)}")] == ["p"]


def test_prune_deletes_an_empty_quorum_queue(vhost: str, cli: Cli, tmp_path: Path) -> None:
    """Quorum queues refuse if-empty: mqctl's own check is their guard, and the delete works."""
    owned = f"vhost: {json.dumps(vhost)}\nvhosts: [{{name: {json.dumps(vhost)}}}]\n"
    full = write(tmp_path / "a.yaml", owned + "queues: [{name: qq, type: quorum}]\n")
    assert cli("topology", "apply", str(full)).status == 0
    pruned = cli("topology", "apply", "--prune", str(write(tmp_path / "b.yaml", owned)))
    assert pruned.status == 0, pruned.err
    assert api("GET", f"queues/{quote(vhost)}") == []


def test_an_invalid_policy_value_is_refused_before_anything_changes(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    """It once passed validate; apply created the vhost, then failed with the broker's HTML."""
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(unique)}\nvhosts: [{{name: {json.dumps(unique)}}}]\n"
        "policies: [{name: p, pattern: '^q$', definition: {message-ttl: x}}]\n",
    )
    with own_vhosts(unique):
        result = cli("topology", "apply", str(files))
        assert (result.status, result.err.splitlines()) == (
            4,
            [
                "mqctl: error: the topology is invalid (1 problem); nothing was applied",
                f"{files}:3:64: message-ttl is 'x' (allowed: a whole number from 0 up)",
            ],
        )
        assert unique not in {v["name"] for v in api("GET", "vhosts")}


def test_a_refusal_midway_says_what_was_done_and_what_was_not(
    unique: str, cli: Cli, tmp_path: Path
) -> None:
    """A pattern Python reads but RabbitMQ's PCRE refuses (\\N{...}) gets past every check: the
    broker refuses it after the vhost exists. The error is one line and says what was done."""
    text = (
        f"vhost: {json.dumps(unique)}\nvhosts: [{{name: {json.dumps(unique)}}}]\n"
        "queues: [{name: q}]\n"
        "policies: [{name: p, pattern: '\\N{LATIN SMALL LETTER A}', definition: {max-length: 1}}]\n"
    )
    files = write(tmp_path / "a.yaml", text)
    with own_vhosts(unique):
        result = cli("topology", "apply", str(files))
        assert result.status == 1
        # The broker's own words differ between versions (PCRE's message): its line is checked
        # for its frame, and for being one line.
        head = f"mqctl: error: PUT /api/policies/{quote(unique)}/p failed: 400 Validation failed "
        tail = "; the broker rejected the request's values; " + stopped_midway(1, 2, 3) + "\n"
        assert result.err.startswith(head) and result.err.endswith(tail), result.err
        assert "regular expression" in result.err and result.err.count("\n") == 1
        plan = cli("topology", "plan", str(files))
        assert plan.status == 2
        assert "+ create    queue 'q'" in plan.out and "+ create    policy 'p'" in plan.out


def test_sigterm_during_apply_stops_between_steps_and_says_so(unique: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import AMQP_URL

    policies = ", ".join(
        f"{{name: p{i}, pattern: '^q{i}$', definition: {{max-length: {i}}}}}" for i in range(400)
    )
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(unique)}\nvhosts: [{{name: {json.dumps(unique)}}}]\n"
        f"policies: [{policies}]\n",
    )
    with own_vhosts(unique):
        command = [sys.executable, "-m", "mqctl", "topology", "apply", str(files)]
        process = subprocess.Popen(
            [*command, "--url", AMQP_URL, "--api", API_URL],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:  # the plan is printed before anything changes
            if line.startswith("Plan:"):
                break
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 143, err
        created = len(api("GET", f"policies/{quote(unique)}"))
        assert err == (
            f"mqctl: error: apply interrupted (SIGTERM); done: {created + 1} created, 0 updated, "
            f"0 recreated, 0 deleted; not done: {400 - created} of 401 changes; mqctl topology "
            "plan shows what is left; apply again to finish\n"
        )
        assert created < 400  # stopped between two steps, not at the end


def test_ae_and_dlx_pointing_nowhere_are_warned_about_by_plan_and_show(
    vhost: str, cli: Cli, tmp_path: Path
) -> None:
    api("PUT", f"exchanges/{quote(vhost)}/on-broker", {"type": "fanout"})
    files = write(
        tmp_path / "a.yaml",
        f"vhost: {json.dumps(vhost)}\n"
        "exchanges: [{name: in, type: topic, alternate_exchange: lost}]\n"
        "queues: [{name: q, dead_letter_exchange: on-broker}]\n",
    )
    warning = (
        f"warning: exchange 'in' in vhost {vhost!r}: its alternate exchange 'lost' is "
        "{where}; unroutable messages are dropped"
    )
    plan = cli("topology", "plan", str(files))
    assert plan.status == 2
    assert plan.err.splitlines() == [
        warning.format(where="neither declared in the files nor present on the broker")
    ]
    assert cli("topology", "apply", str(files)).status == 0
    shown = cli("topology", "show", "--live", "--vhost", vhost)
    assert shown.status == 0
    assert shown.err.splitlines() == [warning.format(where="not on the broker")]

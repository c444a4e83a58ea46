"""Offline: loading, interpolation, merging and validation of topology files (no broker)."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from pathlib import Path

import pytest

from mqctl.topology.model import Binding, Exchange, Queue, User, Vhost
from mqctl.topology.validate import InvalidTopology, load_topology, read_topology
from tests.run import run_in_process

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, "t.yaml", text)
    _, problems = read_topology([path], env or {})
    return [str(p).replace(str(path), "t.yaml") for p in problems]


def test_replica_counts_and_leader_locator_are_checked_per_queue_type(tmp_path: Path) -> None:
    text = """\
vhost: v
queues:
  - {name: q, type: quorum, initial_group_size: 3, leader_locator: balanced}
  - {name: s, type: stream, initial_cluster_size: 2, leader_locator: client-local}
  - {name: c, initial_group_size: 3, leader_locator: balanced}
  - {name: z, type: quorum, initial_group_size: 0, leader_locator: random}
  - {name: t, type: quorum, initial_cluster_size: 2}
"""
    problems = problems_of(tmp_path, text)
    assert problems == [
        "t.yaml:5:35: initial_group_size (x-quorum-initial-group-size) does not apply to a "
        "classic queue (allowed: quorum queues)",
        "t.yaml:6:49: initial_group_size (x-quorum-initial-group-size) is 0 (allowed: a whole "
        "number from 1 up)",
        "t.yaml:6:68: leader_locator (x-queue-leader-locator) is 'random' (allowed: "
        "client-local, balanced)",
        "t.yaml:7:51: initial_cluster_size (x-initial-cluster-size) does not apply to a quorum "
        "queue (allowed: stream queues)",
    ], problems


def test_every_error_is_reported_at_once_with_line_and_column(tmp_path: Path) -> None:
    text = """\
vhost: v
queues:
  - name: s
    type: stream
    durable: false
  - name: q
    type: quorum
    max_priority: 5
    auto_delete: true
  - name: c
    colour: blue
exchanges:
  - name: e
    type: fanciful
"""
    assert problems_of(tmp_path, text) == [
        "t.yaml:5:14: a stream queue must be durable (allowed: durable: true)",
        "t.yaml:8:19: max_priority (x-max-priority) does not apply to a quorum queue "
        "(allowed: classic queues)",
        "t.yaml:9:18: a quorum queue cannot be auto-delete (allowed: auto_delete: false)",
        "t.yaml:11:5: unknown key 'colour' in a queue (allowed: "
        + ", ".join(
            sorted(
                [
                    "name",
                    "vhost",
                    "type",
                    "durable",
                    "auto_delete",
                    "exclusive",
                    "arguments",
                    "message_ttl",
                    "expires",
                    "max_length",
                    "max_length_bytes",
                    "overflow",
                    "dead_letter_exchange",
                    "dead_letter_routing_key",
                    "max_priority",
                    "delivery_limit",
                    "queue_mode",
                    "single_active_consumer",
                    "max_age",
                    "initial_group_size",
                    "initial_cluster_size",
                    "leader_locator",
                ]
            )
        )
        + ")",
        "t.yaml:14:11: unknown exchange type 'fanciful' "
        "(allowed: direct, fanout, topic, headers, or a plugin type starting with x-)",
    ]


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (
            "{name: a, type: quorum, exclusive: true}",
            "2:40: a quorum queue cannot be exclusive (allowed: exclusive: false)",
        ),
        (
            "{name: a, exclusive: true}",
            "2:26: an exclusive queue belongs to one connection and cannot be provisioned "
            "(allowed: exclusive: false)",
        ),
        (
            "{name: a, type: stream, message_ttl: 5}",
            "2:42: message_ttl (x-message-ttl) does not apply to a stream queue "
            "(allowed: classic, quorum queues)",
        ),
        (
            "{name: a, type: classic, delivery_limit: 5}",
            "2:46: delivery_limit (x-delivery-limit) does not apply to a classic queue "
            "(allowed: quorum queues)",
        ),
        (
            "{name: a, type: stream, max_age: 7 days}",
            "2:38: max_age (x-max-age) is '7 days' "
            "(allowed: a number and a unit Y, M, D, h, m or s, e.g. 7D)",
        ),
        (
            "{name: a, max_priority: 300}",
            "2:29: max_priority (x-max-priority) is 300 (allowed: a whole number from 1 to 255)",
        ),
        (
            "{name: a, overflow: drop-tail}",
            "2:25: overflow (x-overflow) is 'drop-tail' "
            "(allowed: drop-head, reject-publish, reject-publish-dlx)",
        ),
        (
            "{name: a, type: quorum, overflow: reject-publish-dlx}",
            "2:39: quorum queues do not support reject-publish-dlx "
            "(allowed: drop-head, reject-publish)",
        ),
        (
            "{name: a, type: lazy}",
            "2:21: unknown queue type 'lazy' (allowed: classic, quorum, stream)",
        ),
        (
            "{name: a, message_ttl: -1}",
            "2:28: message_ttl (x-message-ttl) is -1 (allowed: a whole number from 0 up)",
        ),
        (
            "{name: a, durable: yes please}",
            "2:24: durable must be true or false, not 'yes please' (allowed: true, false)",
        ),
    ],
)
def test_per_type_queue_rules(tmp_path: Path, queue: str, expected: str) -> None:
    assert problems_of(tmp_path, f"queues:\n  - {queue}\n") == [f"t.yaml:{expected}"]


def test_interpolation_types_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.yaml",
        "vhost: ${VH:-fallback}\nqueues:\n  - name: ${PREFIX}.q\n    max_length: ${MAX:-100}\n"
        "    arguments: {x-note: '${MAX:-100}', x-cost: $$5}\n",
    )
    topology = load_topology([path], {"PREFIX": "app"})
    queue = topology.of(Queue)[0]
    assert queue.key == ("fallback", "app.q")
    assert queue.arguments == {"x-max-length": 100, "x-note": "100", "x-cost": "$5"}


def test_missing_variable_is_an_error_with_location(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "queues:\n  - name: ${NOPE}\n")
    assert found == [
        "t.yaml:2:11: environment variable NOPE is not set "
        "(allowed: export NOPE, or ${NOPE:-default})"
    ]


def test_files_and_directories_merge_and_conflicting_duplicates_are_errors(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    write(tmp_path, "d/a.yaml", "exchanges: [{name: x, type: topic}]\nqueues: [{name: q}]\n")
    write(
        tmp_path,
        "d/b.yml",
        "exchanges: [{name: x, type: topic}]\nbindings: [{from: x, to_queue: q}]\n",
    )
    topology = load_topology([tmp_path / "d"], {})
    assert [e.name for e in topology.of(Exchange)] == ["x"]
    assert len(topology.of(Binding)) == 1
    write(tmp_path, "c.yaml", "exchanges: [{name: x, type: fanout}]\n")
    with pytest.raises(InvalidTopology) as info:
        load_topology([tmp_path / "d", tmp_path / "c.yaml"], {})
    assert "is declared again with other properties (first at" in str(info.value)
    assert "c.yaml:1:13: exchange 'x' in vhost '/' is declared again" in str(info.value)


def test_typed_arguments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.yaml",
        "bindings:\n  - from: h\n    to_queue: q\n    arguments:\n      x-match: all\n"
        "      n: {amqp_type: long, value: '42'}\n      s: {amqp_type: string, value: 42}\n"
        "      f: {amqp_type: double, value: 1}\n",
    )
    binding = load_topology([path], {}).of(Binding)[0]
    assert binding.arguments == {"x-match": "all", "n": 42, "s": "42", "f": 1.0}
    assert isinstance(binding.arguments["f"], float)
    found = problems_of(
        tmp_path, "queues: [{name: q, arguments: {a: {amqp_type: byte, value: 300}}}]\n"
    )
    assert found == ["t.yaml:1:60: 300 does not fit a byte (allowed: -128..127)"]


def test_binding_needs_exactly_one_destination(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, "bindings:\n  - {from: a, to_queue: b, to_exchange: c}\n  - {to_queue: b}\n"
    )
    assert found == [
        "t.yaml:2:25: a binding needs exactly one of to_queue and to_exchange "
        "(allowed: to_queue: NAME or to_exchange: NAME)",
        "t.yaml:3:5: a binding has no 'from' (allowed: from: <text>)",
        "t.yaml:3:5: bindings to the default exchange are implicit and cannot be declared "
        "(allowed: a named exchange)",
    ]


def test_user_secrets_from_environment_and_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n", encoding="utf-8")
    path = write(
        tmp_path,
        "t.yaml",
        f"users:\n  - {{name: a, password_env: APP_PW, tags: [management]}}\n"
        f"  - {{name: b, password_file: '{secret}', tags: 'monitoring,policymaker'}}\n",
    )
    users = load_topology([path], {"APP_PW": "from-env"}).of(User)
    assert [(u.name, u.password, u.tags) for u in users] == [
        ("a", "from-env", ("management",)),
        ("b", "from-file", ("monitoring", "policymaker")),
    ]
    assert "from-env" not in repr(users[0])
    found = problems_of(tmp_path, "users:\n  - {name: a, password_env: UNSET_PW}\n")
    assert found == [
        "t.yaml:2:29: environment variable UNSET_PW (the user's password) is not set "
        "(allowed: export UNSET_PW)"
    ]


def test_definitions_json_is_read_with_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defs.json",
        '{\n  "vhosts": [{"name": "v"}],\n  "queues": [\n'
        '    {"name": "q", "vhost": "v", "durable": true,\n'
        '     "auto_delete": false, "arguments": {"x-queue-type": "quorum", "x-max-priority": 3}}'
        "\n  ]\n}\n",
    )
    _, problems = read_topology([path], {})
    assert [str(p).replace(str(path), "defs.json") for p in problems] == [
        "defs.json:5:86: max_priority (x-max-priority) does not apply to a quorum queue "
        "(allowed: classic queues)"
    ]


def test_a_valid_json_file_read_located_places_each_object(tmp_path: Path) -> None:
    # plan --format json asks for this: each change names its file:line:column.
    path = write(
        tmp_path,
        "defs.json",
        '{\n  "vhosts": [{"name": "v"}],\n  "queues": [\n    {"name": "q", "vhost": "v"}\n  ]\n}\n',
    )
    fast = load_topology([path], {})
    assert {str(obj.loc) for obj in fast} == {str(path)}  # read fast: the file alone
    located = load_topology([path], {}, located=True)
    assert [str(obj.loc) for obj in located] == [f"{path}:2:14", f"{path}:4:5"]
    assert list(located) == list(fast)


def test_the_readers_objects_are_the_constructors_field_for_field(tmp_path: Path) -> None:
    # The readers make exchanges, queues and bindings without the dataclass __init__
    # (kinds.base.assembled): each must still hold every field, as the constructor sets them.
    yaml_file = write(
        tmp_path,
        "t.yaml",
        "vhost: v\nexchanges:\n  - {name: e, type: topic, alternate_exchange: ae}\n"
        "  - {name: ae, type: fanout, internal: true}\n"
        "queues:\n  - {name: q, message_ttl: 5}\n  - {name: r, type: quorum}\n"
        "bindings:\n  - {from: e, to_queue: q, routing_key: k}\n"
        "  - {from: e, to_exchange: ae, arguments: {x: 1}}\n",
    )
    json_file = write(
        tmp_path,
        "defs.json",
        '{"vhosts": [{"name": "w"}], "exchanges": [{"name": "e", "vhost": "w", "type": "topic"}],'
        ' "queues": [{"name": "q", "vhost": "w", "arguments": {"x-queue-type": "quorum"}}],'
        ' "bindings": [{"source": "e", "vhost": "w", "destination": "q",'
        ' "destination_type": "queue", "routing_key": "k"}]}',
    )
    for located in (False, True):
        objects = [
            obj
            for obj in load_topology([yaml_file, json_file], {}, located=located)
            if isinstance(obj, Exchange | Queue | Binding)
        ]
        assert len(objects) == 9
        for obj in objects:
            made = type(obj)(**{f.name: getattr(obj, f.name) for f in dataclass_fields(obj)})
            held = {name: value for name, value in vars(obj).items() if name != "_key"}
            assert list(held.items()) == list(vars(made).items())
            assert made == obj and hash(made) == hash(obj)


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "queues:\n  - name: [a\n")
    assert len(found) == 1 and found[0].startswith("t.yaml:3:1: not valid YAML")


def test_examples_are_valid_and_the_corpus_parses() -> None:
    topology = load_topology([ROOT / "topologies"], {})
    assert len(topology.of(Queue)) >= 15
    assert all(v.name for v in topology.of(Vhost))


def test_validate_command_exit_statuses(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", "queues: [{name: q}]\n")
    bad = write(tmp_path, "bad.yaml", "queues: [{name: q, type: stream, auto_delete: true}]\n")
    assert run_in_process("topology", "validate", str(good)) == (
        0,
        "",
        "valid: 1 objects (1 queues)\n",
    )
    refused = run_in_process("topology", "validate", str(bad), str(tmp_path / "missing.yaml"))
    assert (refused.status, refused.out) == (4, "")
    assert refused.err_lines == [
        "mqctl: error: the topology is invalid (2 problems); nothing was applied",
        f"{bad}:1:47: a stream queue cannot be auto-delete (allowed: auto_delete: false)",
        f"{tmp_path / 'missing.yaml'}: no such file or directory",
    ]


def test_help_has_examples() -> None:
    for command in ("validate", "plan", "apply", "export", "delete", "show"):
        status, out, _ = run_in_process(
            "topology", command, "--help", env={"NO_COLOR": "1", "COLUMNS": "200"}
        )
        assert status == 0
        assert "Example" in out, command


def _schema() -> dict[str, object]:
    import json

    schema: dict[str, object] = json.loads(
        (ROOT / "mqctl" / "topology" / "schema.json").read_text(encoding="utf-8")
    )
    return schema


def test_examples_match_the_json_schema() -> None:
    import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev dependencies
    import yaml

    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in sorted((ROOT / "topologies").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(example.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"queues": [{"name": "q", "colour": "blue"}]}, schema)


def test_the_loader_takes_exactly_the_keys_the_schema_lists(tmp_path: Path) -> None:
    """schema.json is generated from the kind registry (tools/check-schema keeps it so); this
    keeps the registry's keys and the readers that use them from drifting apart: every key the
    schema lists for a section is read without an "unknown key" problem, and one more is not."""
    from mqctl.topology.kinds import KINDS
    from mqctl.topology.model import KINDS as MODEL_ORDER
    from mqctl.topology.validate import read_topology

    assert [kind.model for kind in KINDS] == list(MODEL_ORDER)
    props = _schema()["properties"]
    assert isinstance(props, dict)
    for kind in KINDS:
        assert kind.section in props
        entry = {key.name: None for key in kind.keys}
        path = tmp_path / f"{kind.section}.yaml"
        path.write_text(yaml_dump({kind.section: [{**entry, "colour": 1}]}), encoding="utf-8")
        _, problems = read_topology([path], env={})
        unknown = [p.message for p in problems if "unknown key" in p.message]
        assert unknown == [f"unknown key 'colour' in {kind_phrase(kind.section)}"], kind.section


def yaml_dump(document: object) -> str:
    import yaml

    return yaml.safe_dump(document)


def kind_phrase(section: str) -> str:
    return {
        "vhosts": "a vhost",
        "users": "a user",
        "permissions": "a permission",
        "topic_permissions": "a topic permission",
        "policies": "a policy",
        "operator_policies": "a policy",
        "parameters": "a parameter",
        "global_parameters": "a global parameter",
        "exchanges": "an exchange",
        "queues": "a queue",
        "bindings": "a binding",
    }[section]


def test_show_into_a_pipe_cuts_no_label(tmp_path: Path) -> None:
    long_queue = "q-" + "x" * 150
    path = tmp_path / "t.yaml"
    path.write_text(
        "vhost: v\nexchanges:\n  - {name: e, type: topic}\n"
        f"queues:\n  - {{name: {long_queue}}}\n"
        f"bindings:\n  - {{from: e, to_queue: {long_queue}, routing_key: 'a.#'}}\n",
        encoding="utf-8",
    )
    status, out, _ = run_in_process("topology", "show", str(path))
    assert status == 0
    assert f"[a.#] -> queue '{long_queue}'" in out

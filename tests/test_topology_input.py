"""Offline: what the loader refuses, and what it keeps exactly as written (issue 15's findings)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mqctl.topology import loader as _loader
from mqctl.topology.model import Binding, Loc, Policy, Queue, Vhost
from mqctl.topology.validate import load_topology, read_topology

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(*paths: Path) -> list[str]:
    _, found = read_topology(list(paths), {})
    return [str(p) for p in found]


def test_a_misspelled_section_of_definitions_json_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path / "defs.json",
        '{"rabbit_version": "3.10.8",\n "queus": [{"name": "important", "vhost": "/"}]}\n',
    )
    from mqctl.topology.definitions import DEFINITIONS_TOP_KEYS

    assert {"queues", "vhosts", "rabbit_version"} <= DEFINITIONS_TOP_KEYS
    assert problems(path) == [
        f"{path}:2:2: unknown key 'queus' in a definitions file "
        f"(allowed: {', '.join(sorted(DEFINITIONS_TOP_KEYS))})"
    ]


def test_an_unknown_key_in_a_definitions_entry_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path / "defs.json",
        '{"queues": [{"name": "q", "vhost": "/", "durabel": false}]}\n',
    )
    assert problems(path) == [
        f"{path}:1:41: unknown key 'durabel' in a queue (definitions) "
        "(allowed: arguments, auto_delete, durable, name, type, vhost)"
    ]


def test_a_json_file_that_is_not_definitions_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "package.json", '{"name": "web", "version": "1.0.0"}\n')
    assert problems(path) == [
        f"{path}:1:1: not a topology file: none of its keys ('name', 'version') is a section of "
        "RabbitMQ definitions or of mqctl's format (allowed: vhosts, queues, exchanges, "
        'bindings, policies, ... or "format": "mqctl-topology")'
    ]


def test_hidden_files_in_a_directory_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.yaml", "queues: [{name: seen}]\n")
    write(tmp_path / "d" / ".#a.yaml", "queues: [{name: editor-backup}]\n")
    write(tmp_path / "d" / ".git" / "b.yaml", "queues: [{name: in-git}]\n")
    topology = load_topology([tmp_path / "d"], {})
    assert [q.name for q in topology.of(Queue)] == ["seen"]


@pytest.mark.parametrize(
    "limits",
    [
        '[["max-connections", 10], ["max-queues", 5]]',
        '[{"max-connections": 10}, {"max-queues": 5}]',
        '{"max-connections": 10, "max-queues": 5}',
    ],
    ids=["pairs", "one-key-maps", "mapping"],
)
def test_vhost_limits_as_rabbitmqctl_exports_them(tmp_path: Path, limits: str) -> None:
    path = write(
        tmp_path / "defs.json",
        '{"rabbit_version": "3.10.8", "vhosts": [{"name": "v", "limits": ' + limits + "}]}\n",
    )
    (vhost,) = load_topology([path], {}).of(Vhost)
    assert vhost.limits == {"max-connections": 10, "max-queues": 5}


def test_empty_limits_list_is_no_limits(tmp_path: Path) -> None:
    path = write(tmp_path / "defs.json", '{"vhosts": [{"name": "v", "limits": []}]}\n')
    (vhost,) = load_topology([path], {}).of(Vhost)
    assert vhost.limits == {}


def test_yaml_merge_keys_work(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.yaml",
        "x-durable: &durable {durable: true, message_ttl: 10, max_length: 1}\n"
        "queues:\n"
        "  - <<: *durable\n    name: a\n"
        "  - {<<: *durable, name: b, max_length: 5}\n",
    )
    queues = {q.name: q.arguments for q in load_topology([path], {}).of(Queue)}
    assert queues == {
        "a": {"x-message-ttl": 10, "x-max-length": 1},
        "b": {"x-message-ttl": 10, "x-max-length": 5},  # the mapping's own key wins
    }


BOMB = """\
x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
x-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
x-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
x-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
queues:
  - {name: q, arguments: {x-bomb: *i}}
"""


def _limit_memory() -> None:
    two_gib = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


def test_an_alias_bomb_is_bad_input_quickly_in_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.yaml", BOMB)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mqctl", "topology", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,  # a 2 GiB address space: far less than the expansion needs
        check=False,
    )
    elapsed = time.monotonic() - started
    assert (result.returncode, result.stderr.splitlines()) == (
        4,
        [
            "mqctl: error: the topology is invalid (1 problem); nothing was applied",
            f"{path}: its aliases expand to more than 100,000 values (allowed: write the values "
            "out, or use fewer nested aliases)",
        ],
    )
    assert elapsed < 5, elapsed  # interpreter start-up included


def test_yaml_1_1_scalars_in_names_and_keys_stay_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.yaml",
        "vhost: 2024-01-01\n"
        "exchanges: [{name: 0x10, type: headers}]\n"
        "queues:\n"
        "  - {name: 12:30}\n"
        "  - {name: 017, arguments: {05: a, 5: b, 0o7: c}}\n"
        "bindings:\n"
        "  - {from: 0x10, to_queue: 017, routing_key: 1.10, arguments: {x-match: any, 1e3: v}}\n",
    )
    topology = load_topology([path], {})
    assert [q.key for q in topology.of(Queue)] == [("2024-01-01", "12:30"), ("2024-01-01", "017")]
    assert topology.of(Queue)[1].arguments == {"05": "a", "5": "b", "0o7": "c"}
    (binding,) = topology.of(Binding)
    assert (binding.source, binding.destination, binding.routing_key) == ("0x10", "017", "1.10")
    assert binding.arguments == {"x-match": "any", "1e3": "v"}


def test_a_yaml_boolean_as_a_name_is_refused_with_quote_it(tmp_path: Path) -> None:
    path = write(tmp_path / "t.yaml", "queues: [{name: yes}]\n")
    assert problems(path) == [
        f"{path}:1:17: name must be a text, not true (allowed: a text (quote it))"
    ]


def test_empty_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.yaml",
        'queues: [{name: ""}]\nvhosts: [{name: ""}]\npolicies: [{name: "", pattern: x, '
        "definition: {max-length: 1}}]\n",
    )
    assert problems(path) == [
        f"{path}:1:17: name is empty (allowed: a name of at least one character)",
        f"{path}:2:17: name is empty (allowed: a name of at least one character)",
        f"{path}:3:19: name is empty (allowed: a name of at least one character)",
    ]


def test_conflicting_spellings_of_one_argument_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.yaml",
        "queues:\n"
        "  - {name: a, message_ttl: 1000, arguments: {x-message-ttl: 2000}}\n"
        "  - {name: b, message_ttl: 1000, arguments: {x-message-ttl: 1000}}\n"
        "  - {name: c, type: quorum, arguments: {x-queue-type: stream}}\n"
        "exchanges:\n"
        "  - {name: e, alternate_exchange: x, arguments: {alternate-exchange: y}}\n",
    )
    assert problems(path) == [
        f"{path}:2:28: message_ttl and arguments.x-message-ttl set the same argument to 1000 "
        "and 2000 (allowed: one of them: message_ttl: VALUE or arguments: {x-message-ttl: VALUE})",
        f"{path}:4:21: type and arguments.x-queue-type set the queue's type to 'quorum' and "
        "'stream' (allowed: one of them: type: TYPE)",
        f"{path}:6:35: alternate_exchange and arguments.alternate-exchange set the same argument "
        "to 'x' and 'y' (allowed: one of them: alternate_exchange: NAME)",
    ]


def test_integers_beyond_64_bits_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.yaml",
        "queues: [{name: q, arguments: {x-big: 99999999999999999999}}]\n"
        "policies: [{name: p, pattern: x, definition: {max-length: 9223372036854775808}}]\n",
    )
    allowed = "(allowed: a whole number from -9223372036854775808 to 9223372036854775807)"
    assert problems(path) == [
        f"{path}:1:39: 99999999999999999999 does not fit in 64 bits {allowed}",
        f"{path}:2:59: 9223372036854775808 does not fit in 64 bits {allowed}",
    ]


def test_a_per_vhost_definitions_file_goes_wholly_to_the_vhost_given(tmp_path: Path) -> None:
    """GET /api/definitions/{vhost} leaves `vhost` out of queues but not of policies: with
    --vhost NEW every object goes to NEW, as RabbitMQ's own import into NEW does."""
    exported = {
        "rabbit_version": "3.10.8",
        "queues": [{"name": "q", "durable": True, "auto_delete": False, "arguments": {}}],
        "policies": [
            {
                "vhost": "source",
                "name": "p",
                "pattern": "^q$",
                "apply-to": "queues",
                "definition": {"max-length": 5},
                "priority": 0,
            }
        ],
    }
    path = write(tmp_path / "defs.json", json.dumps(exported))
    topology = load_topology([path], {}, default_vhost="NEW")
    assert [q.key for q in topology.of(Queue)] == [("NEW", "q")]
    assert [p.key for p in topology.of(Policy)] == [("NEW", "p")]


def test_the_loader_knows_every_section_of_the_registry() -> None:
    from mqctl.topology import loader
    from mqctl.topology.kinds import KINDS

    assert {kind.section for kind in KINDS} == loader._SECTIONS


def test_ae_and_dlx_pointing_nowhere_are_warned_about_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mqctl.cli import main

    path = write(
        tmp_path / "t.yaml",
        "vhost: v\nexchanges:\n  - {name: in, type: topic, alternate_exchange: lost}\n"
        "  - {name: kept, type: fanout}\n"
        "queues:\n  - {name: q, dead_letter_exchange: gone}\n"
        "  - {name: r, dead_letter_exchange: kept}\n  - {name: s, dead_letter_exchange: ''}\n"
        "policies:\n  - {name: p, pattern: '^r$', definition: {dead-letter-exchange: amq.direct}}\n",
    )
    assert main(["topology", "validate", str(path)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "warning: exchange 'in' in vhost 'v': its alternate exchange 'lost' is not declared in "
        "the files; unroutable messages are dropped",
        "warning: queue 'q' in vhost 'v': its dead-letter exchange 'gone' is not declared in the "
        "files; dead-lettered messages are dropped",
        "valid: 6 objects (1 policies, 2 exchanges, 3 queues)",
    ]


def test_json_read_fast_still_locates_its_problems(tmp_path: Path) -> None:
    """JSON files are read by the JSON parser, without positions; a file with a problem is read
    again with them, so the message still says line and column (a repeated key included)."""
    path = write(
        tmp_path / "defs.json",
        '{"vhosts": [{"name": "v"}],\n "queues": [{"name": "q", "vhost": "v",\n'
        '   "durable": true, "durable": false}]}\n',
    )
    assert problems(path) == [
        f"{path}:3:21: key 'durable' given twice in one mapping (first at line 3)"
    ]


def test_json_values_are_the_json_parsers(tmp_path: Path) -> None:
    """1e3 is a number to JSON and a string to YAML 1.1: the JSON parser's reading stands, also
    when a problem has the file read again for positions (it is then located by the file)."""
    queue = '{"name": "q", "vhost": "v", "arguments": {"%s": 1e3}}'
    good = write(tmp_path / "good.json", '{"queues": [%s]}' % (queue % "x-custom"))
    (read,) = load_topology([good], {}).of(Queue)
    assert read.arguments == {"x-custom": 1000.0}
    bad = write(tmp_path / "bad.json", '{"queues": [%s]}' % (queue % "x-max-length"))
    assert problems(bad) == [
        f"{bad}: max_length (x-max-length) is 1000.0 (allowed: a whole number from 0 up)"
    ]


EQUIVALENT_YAML = [
    "queues:\n- name: a\n  durable: false\n  max_length: 10\n- {name: b, arguments: {x-a: [1, 2.5, yes, ~, '', 0x10]}}\n",
    "vhost: v\nexchanges: []\nqueues: {}\nbindings:\n  - from: e\n    to_queue: '017'\n    routing_key: 12:30\n",
    'x-y: !!str 5\nqueues:\n- name: "${Q:-q}"\n  message_ttl: ${TTL:-100}\n',
    "queues:\n- name: ${Q:-q}\n  message_ttl: ${TTL:-100}\n  max_length: $$5\n",
    "",
    "# only a comment\n",
    "queues:\n  - name: |\n      block\n    arguments:\n      k: >-\n        folded\n",
]


# Plain block YAML: what block_yaml.py reads from the lines (each case must be read there).
BLOCK_YAML = [
    "vhost: big\nexchanges:\n- name: ex.0\n  type: topic\nqueues:\n- max_length: 1000\n"
    "  message_ttl: 60000\n  name: queue.0\nbindings:\n- from: ex.0\n  routing_key: k.0.#\n"
    "  to_queue: queue.0\n",
    """\
# a comment
vhost: ${TOPOLOGY_VHOST:-/}

vhosts:
  - name: v1
    tags:
    - a
    - 'b c'   # quoted
    limits:
      max_queues:   10
queues:
  - name: q.1            # a comment
    durable: no
    arguments:
      x-queue-type: quorum
      x-delivery-limit: 5
      x-list:
        - 1
        - "two"
        - 2024-01-01
        - -3
        - 1.5e3
  - name: '017'
    type: classic
    message_ttl: ${TTL}
bindings:
  - from: ''
    to_queue: q.1
    routing_key: "a.b"
    arguments: {}   # none
  - from: amq.topic
    to_queue: q.1
    routing_key: 12:30
    arguments:
      x-match: any
      x-list: []
parameters:
  - component: shovel
    name: s
    value:
      src-uri: amqp://u@h:5672/%2f
      ack-mode: on-confirm
      a-b: $$x
""",
]
# ... and what it leaves to libyaml (returns None for).
NOT_BLOCK_YAML = [
    "a:\n",
    "a:\nb: 1\n",
    "a: 'it''s'\n",
    'a: "x\\ty"\n',
    "a: b\n  c\n",
    "on: 1\n",
    "a: [1, 2]\n",
    "x: &a 1\ny: *a\n",
    "a: |\n  text\n",
    "a: b # c: d\nc: d: e\n",
    "a: 1\na: 2\n",
    "--- \na: 1\n",
    "a:\n\tb: 1\n",
    "- - a\n",
]


@pytest.mark.parametrize(
    "text",
    EQUIVALENT_YAML
    + BLOCK_YAML
    + NOT_BLOCK_YAML
    + [p.read_text() for p in sorted((ROOT / "topologies").glob("*.yaml"))],
)
def test_the_fast_readings_read_what_the_node_walker_reads(text: str) -> None:
    """The fast readings (plain block YAML from its lines; libyaml's events straight to values)
    and the node-based one give the same values, positions and texts as written, or the fast
    ones step aside."""
    env = {"TTL": "7"}
    try:
        node_loader = _loader._LOADER(text)
        node = node_loader.get_single_node()
    except yaml.YAMLError:
        assert _loader._read_block(text, _loader._EventBuilder("t.yaml", env, [])) is None
        return
    if node is None:
        walked = _located(_loader.LMap(Loc("t.yaml", 1, 1)))
    else:
        try:
            walked = _located(_loader._Walker(node_loader, "t.yaml", env, []).value(node))
        except yaml.YAMLError:  # a duplicate key, say: reported by parse_text, not here
            walked = None
    block = _loader._read_block(text, _loader._EventBuilder("t.yaml", env, []))
    if text in BLOCK_YAML or text in NOT_BLOCK_YAML:
        assert (block is not None) == (text in BLOCK_YAML)
    if block is not None:
        assert _located(block) == walked
    events = _loader._EventBuilder("t.yaml", env, []).build(text)
    if events is _loader._FALLBACK:
        return  # anchors, tags, a repeated key: the walker's alone
    assert _located(events) == walked


def _located(value: object) -> object:
    """A value with every position and text-as-written it carries, for comparing readings."""
    if isinstance(value, _loader.LMap):
        return (
            "map",
            value.loc,
            [(k, _located(v)) for k, v in value.items()],
            value.key_pos,
            value.value_pos,
            value.raw,
        )
    if isinstance(value, _loader.LList):
        return ("list", value.loc, [_located(v) for v in value], value.pos)
    return (type(value).__name__, value)

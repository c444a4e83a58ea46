"""Offline round trips: topology -> YAML, JSON or definitions -> loader gives the same objects.

Names are drawn from awkward text (slashes, percent signs, spaces, unicode) and argument values
from the JSON types the broker keeps; the plan of a topology against itself is empty.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqctl import output
from mqctl.topology.definitions import to_definitions
from mqctl.topology.export import to_document
from mqctl.topology.model import Binding, Exchange, Policy, Queue, Topology, Vhost
from mqctl.topology.plan import BrokerFacts, compute_plan, password_matches
from mqctl.topology.validate import load_topology

# Stripped rather than filtered: filtering out names with outer spaces discarded so many inputs
# that Hypothesis's filter_too_much health check failed now and then.
NAME = (
    st.text(alphabet=st.sampled_from([*"ab/% é日~.#*-_ ", "\u2603"]), min_size=1, max_size=12)
    .map(str.strip)
    .filter(lambda s: s != "" and not s.startswith("amq."))
)
VALUE = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.booleans(),
    st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: f != int(f)),
)
ARGS = st.dictionaries(st.sampled_from(["x-a", "h/1", "k %", "é"]), VALUE, max_size=3)


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    topology = Topology()
    vhosts = draw(st.lists(NAME, min_size=1, max_size=2, unique=True))
    for v in vhosts:
        topology.add(Vhost(name=v, description=draw(st.text(max_size=10)), tags=("a",)))
    for _ in range(draw(st.integers(1, 4))):
        v = draw(st.sampled_from(vhosts))
        kind = draw(st.sampled_from(["direct", "topic", "fanout", "headers", "x-custom"]))
        ex_args = draw(ARGS)
        if draw(st.booleans()):
            ex_args["alternate-exchange"] = draw(NAME)
        topology.add(
            Exchange(v, draw(NAME), kind, draw(st.booleans()), False, draw(st.booleans()), ex_args)
        )
    exchanges = topology.of(Exchange)
    for _ in range(draw(st.integers(1, 4))):
        v = draw(st.sampled_from(vhosts))
        qtype = draw(st.sampled_from(["classic", "quorum", "stream"]))
        args = draw(ARGS)
        if qtype != "classic":
            args["x-queue-type"] = qtype
        elif draw(st.booleans()):
            args["x-message-ttl"] = draw(st.integers(0, 10**6))
            args["x-max-priority"] = draw(st.integers(1, 255))
        if qtype == "stream":
            args["x-max-age"] = "7D"
        durable = True if qtype != "classic" else draw(st.booleans())
        topology.add(Queue(v, draw(NAME), durable, False, args))
    for q in topology.of(Queue):
        sources = [e for e in exchanges if e.vhost == q.vhost]
        if sources:
            e = draw(st.sampled_from(sources))
            topology.add(Binding(q.vhost, e.name, q.name, "queue", draw(NAME), draw(ARGS)))
    topology.add(Policy(vhosts[0], draw(NAME), "^a", {"max-length": 5}, "queues", 1))
    return topology


def _same(a: Topology, b: Topology) -> None:
    for kind, bucket in a.objects.items():
        assert set(bucket) == set(b.objects[kind]), kind
        for key, obj in bucket.items():
            assert obj.fields() == b.objects[kind][key].fields(), (kind, key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topology=topologies())
def test_yaml_json_and_definitions_round_trip(topology: Topology) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        yaml_path = Path(tmp) / "t.yaml"
        yaml_path.write_text(output.dump_topology_yaml(to_document(topology)), encoding="utf-8")
        json_path = Path(tmp) / "t.json"
        json_path.write_text(
            json.dumps(to_document(topology), ensure_ascii=False), encoding="utf-8"
        )
        defs_path = Path(tmp) / "d.json"
        defs_path.write_text(json.dumps(to_definitions(topology)), encoding="utf-8")
        for path in (yaml_path, json_path, defs_path):
            loaded = load_topology([path], env={})
            _same(topology, loaded)
            facts = BrokerFacts(
                exchange_types=frozenset({"direct", "topic", "fanout", "headers", "x-custom"}),
                enabled_plugins=frozenset(),
                existing_vhosts=frozenset(topology.vhosts_used()),
            )
            assert not compute_plan(loaded, topology, facts).has_changes


def test_password_matches_rabbitmq_hashes() -> None:
    # RabbitMQ's documented example: salt 908D C60A, password "test12".
    import base64
    import hashlib

    salt = bytes.fromhex("908DC60A")
    stored = base64.b64encode(salt + hashlib.sha256(salt + b"test12").digest()).decode()
    assert password_matches("test12", stored, "rabbit_password_hashing_sha256")
    assert not password_matches("test13", stored, "rabbit_password_hashing_sha256")
    assert not password_matches("x", "not base64!", None)


def test_yaml_keeps_characters_yaml_reads_as_line_breaks(tmp_path: Path) -> None:
    topology = Topology()
    for index, name in enumerate(["a\x85b", "c\u2028d", "日本 /%"]):
        topology.add(Queue("v", name, True, False, {"x-note": f"{index}\u2029"}))
    path = tmp_path / "t.yaml"
    path.write_text(output.dump_topology_yaml(to_document(topology)), encoding="utf-8")
    _same(topology, load_topology([path], env={}))


def test_json_keeps_characters_yaml_reads_as_line_breaks(tmp_path: Path) -> None:
    topology = Topology()
    topology.add(Vhost(name="v", description="a\x85b\u2028c", tags=()))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(to_document(topology), ensure_ascii=False), encoding="utf-8")
    _same(topology, load_topology([path], env={}))

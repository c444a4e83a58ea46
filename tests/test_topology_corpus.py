"""The five real-world definitions files of the shared corpus, applied through `mqctl topology`.

Each file is applied under names of the test's own (every vhost, user and global parameter gets a
unique prefix: the broker is shared), then must re-plan to 0 — or be refused before anything
changes, naming the cause. Secrets in the files never appear in mqctl's output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import API_URL
from tests.topology_helpers import Cli, api, quote, write

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.broker


def corpus_dir() -> Path:
    """shared/corpus/definitions above the clone (CI, worktrees), or $MQCTL_CORPUS."""
    if os.environ.get("MQCTL_CORPUS"):
        return Path(os.environ["MQCTL_CORPUS"])
    for parent in ROOT.parents:
        candidate = parent / "shared" / "corpus" / "definitions"
        if candidate.is_dir():
            return candidate
    pytest.fail(
        f"the definitions corpus is missing: no shared/corpus/definitions above {ROOT}; "
        "put shared/ beside the clone or set MQCTL_CORPUS"
    )


def renamed(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The file with every vhost, user and global parameter name prefixed (nothing else changed)."""
    for section, items in data.items():
        if not isinstance(items, list):
            continue
        for item in items:
            if section == "vhosts":
                item["name"] = prefix + item["name"]
            elif "vhost" in item:
                item["vhost"] = prefix + item["vhost"]
            if section in ("users", "global_parameters"):
                item["name"] = prefix + item["name"]
            if section in ("permissions", "topic_permissions"):
                item["user"] = prefix + item["user"]
    return data


def secrets_of(data: dict[str, Any]) -> list[str]:
    return [u[k] for u in data.get("users", []) for k in ("password", "password_hash") if u.get(k)]


@pytest.fixture
def corpus_file(unique: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    prefix = unique + "-"
    made: list[dict[str, Any]] = []

    def make(name: str) -> tuple[Path, dict[str, Any]]:
        data = renamed(json.loads((corpus_dir() / name).read_text(encoding="utf-8")), prefix)
        made.append(data)
        return write(tmp_path / name, json.dumps(data, indent=2)), data

    yield make
    for data in made:  # clean up what the file may have created
        for v in data.get("vhosts", []):
            api("DELETE", f"vhosts/{quote(v['name'])}")
        used = {i["vhost"] for s in data.values() if isinstance(s, list) for i in s if "vhost" in i}
        for vhost in used:
            api("DELETE", f"vhosts/{quote(vhost)}")
        for u in data.get("users", []):
            api("DELETE", f"users/{quote(u['name'])}")
        for g in data.get("global_parameters", []):
            api("DELETE", f"global-parameters/{quote(g['name'])}")


@pytest.fixture
def cli(clean_env: Path) -> Cli:
    return Cli()


def test_the_corpus_is_there() -> None:
    names = sorted(p.name for p in corpus_dir().glob("*.json"))
    assert names == [
        "banking-infra.json",
        "consistent-hash-rpc.json",
        "czertainly-provisioning.json",
        "multitenant-vhosts.json",
        "sensitive-data-archive.json",
    ]


@pytest.mark.parametrize(
    "name", ["banking-infra.json", "czertainly-provisioning.json", "multitenant-vhosts.json"]
)
def test_applies_completely_and_replans_to_zero(name: str, corpus_file: Any, cli: Cli) -> None:
    path, data = corpus_file(name)
    result = cli("topology", "apply", str(path))
    assert result.status == 0, result.err
    for secret in secrets_of(data):
        assert secret not in result.out + result.err
    again = cli("topology", "plan", str(path))
    assert again.status == 0, again.out
    # Everything is there: users with their hashes, tags, permissions, vhosts, objects.
    for user in data.get("users", []):
        live = api("GET", f"users/{quote(user['name'])}")
        assert live["password_hash"] == user["password_hash"]
        tags = user["tags"] if isinstance(user["tags"], list) else user["tags"].split(",")
        assert sorted(live["tags"]) == sorted(t for t in tags if t)
    for perm in data.get("permissions", []):
        live = api("GET", f"permissions/{quote(perm['vhost'])}/{quote(perm['user'])}")
        assert (live["configure"], live["write"], live["read"]) == (
            perm["configure"],
            perm["write"],
            perm["read"],
        )
    for queue in data.get("queues", []):
        assert api("GET", f"queues/{quote(queue['vhost'])}/{quote(queue['name'])}")["durable"]
    for exchange in data.get("exchanges", []):
        live = api("GET", f"exchanges/{quote(exchange['vhost'])}/{quote(exchange['name'])}")
        assert live["type"] == exchange["type"]
    for param in data.get("global_parameters", []):
        assert api("GET", f"global-parameters/{quote(param['name'])}")["value"] == param["value"]


def test_consistent_hash_file_is_refused_before_anything_changes(
    corpus_file: Any, cli: Cli
) -> None:
    path, data = corpus_file("consistent-hash-rpc.json")
    vhost = data["queues"][0]["vhost"]
    result = cli("topology", "apply", str(path))
    assert result.status == 1
    assert f"vhost {vhost!r} is used by the files but neither declared in them" in result.err
    assert "--create-vhosts" in result.err
    assert "needs the rabbitmq_consistent_hash_exchange plugin, which is not enabled" in result.err
    assert vhost not in {v["name"] for v in api("GET", "vhosts")}
    # Asking for the vhost leaves only the plugin as the cause; still nothing changes.
    again = cli("topology", "apply", "--create-vhosts", str(path))
    assert again.status == 1
    assert "refused before changing anything (1 reason)" in again.err
    assert vhost not in {v["name"] for v in api("GET", "vhosts")}


def test_sensitive_data_archive_is_refused_for_the_shovel_plugin(
    corpus_file: Any, cli: Cli
) -> None:
    path, data = corpus_file("sensitive-data-archive.json")
    result = cli("topology", "apply", str(path))
    assert result.status == 1
    assert "needs the rabbitmq_shovel plugin, which is not enabled" in result.err
    assert "rabbitmq-plugins enable rabbitmq_shovel" in result.err
    for secret in secrets_of(data):
        assert secret not in result.out + result.err
    # RabbitMQ's own import creates the vhost before failing; mqctl changes nothing.
    assert data["vhosts"][0]["name"] not in {v["name"] for v in api("GET", "vhosts")}
    assert data["users"][0]["name"] not in {u["name"] for u in api("GET", "users")}


def test_sensitive_data_archive_without_its_shovels_applies(
    corpus_file: Any, cli: Cli, tmp_path: Path
) -> None:
    """The rest of the file (streams with x-max-age, an AE policy, a plain password) applies."""
    _, data = corpus_file("sensitive-data-archive.json")
    data.pop("parameters")
    trimmed = write(tmp_path / "trimmed.json", json.dumps(data))
    result = cli("topology", "apply", str(trimmed))
    assert result.status == 0, result.err
    assert "RABBITMQ_DEFAULT_PASS" not in result.out + result.err
    assert cli("topology", "plan", str(trimmed)).status == 0
    vhost = data["vhosts"][0]["name"]
    streams = [q for q in api("GET", f"queues/{quote(vhost)}") if q["type"] == "stream"]
    assert len(streams) == 3
    user = data["users"][0]["name"]
    login = requests.get(f"{API_URL}/api/whoami", auth=(user, "RABBITMQ_DEFAULT_PASS"), timeout=10)
    assert login.ok


def _definitions_schema() -> Any:
    return json.loads((ROOT / "mqctl" / "topology" / "definitions.schema.json").read_text())


def test_the_definitions_schema_takes_the_corpus_and_refuses_misspellings() -> None:
    """definitions.schema.json (generated from the kind registry, drift-checked by
    tools/check-schema) takes every real-world file of the corpus, and refuses what mqctl's reader
    refuses: a misspelled section, an unknown key in an entry, 4.x's per-vhost keys elsewhere."""
    import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev dependencies

    schema = _definitions_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(corpus_dir().glob("*.json")):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)
    for bad in (
        {"queus": [{"name": "q", "vhost": "/"}]},
        {"queues": [{"name": "q", "vhost": "/", "durabel": False}]},
        {"bindings": [{"source": "e", "destination": "q", "destination_type": "stream"}]},
        {"original_vhost_name": "v", "queues": []},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    jsonschema.validate(
        {"rabbitmq_definition_format": "single_virtual_host", "original_vhost_name": "v"}, schema
    )


def _export_command() -> list[str]:
    """rabbitmqctl export_definitions to stdout, against the broker the tests target."""
    from tests.conftest import BROKER_NAME

    if BROKER_NAME == "system":
        return ["rabbitmqctl", "export_definitions", "-"]
    return [str(ROOT / "scripts" / "brokers"), "ctl", "single", "export_definitions", "-"]


def test_rabbitmqctl_export_matches_the_schema_and_loads(unique: str, tmp_path: Path) -> None:
    """A file `rabbitmqctl export_definitions` writes (vhost limits as pairs on 3.x) is valid
    by definitions.schema.json and is read by mqctl without a problem."""
    import subprocess

    import jsonschema

    from mqctl.topology.model import Binding, Vhost
    from mqctl.topology.validate import read_topology

    vhost = quote(unique)
    api("PUT", f"vhosts/{vhost}", {"description": "schema test", "tags": "a,b"})
    try:
        api("PUT", f"vhost-limits/{vhost}/max-queues", {"value": 10})
        api("PUT", f"exchanges/{vhost}/e", {"type": "topic", "arguments": {"x-x": 1}})
        api("PUT", f"queues/{vhost}/q", {"durable": True, "arguments": {"x-max-length": 5}})
        api("POST", f"bindings/{vhost}/e/e/q/q", {"routing_key": "k.#", "arguments": {}})
        api("PUT", f"policies/{vhost}/p", {"pattern": "^q$", "definition": {"max-length": 9}})
        # Without the test's config home: Erlang reports trying to read it, on stdout.
        env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
        done = subprocess.run(
            _export_command(), capture_output=True, text=True, timeout=120, check=False, env=env
        )
        assert done.returncode == 0 and done.stdout.startswith("{"), (done.stdout, done.stderr)
        exported = json.loads(done.stdout)
        assert any(v["name"] == unique for v in exported["vhosts"])
        jsonschema.validate(exported, _definitions_schema())
        # mqctl reads this test's vhost of it (the broker is shared: the rest is others').
        own = {
            section: [i for i in items if unique in (i.get("vhost"), i.get("name"))]
            if isinstance(items, list)
            else items
            for section, items in exported.items()
        }
        (limited,) = own["vhosts"]
        assert limited["limits"] in ([["max-queues", 10]], {"max-queues": 10}), limited
        path = write(tmp_path / "export.json", json.dumps(own))
        topology, problems = read_topology([path], {})
        assert problems == []
        assert (topology.of(Vhost)[0].limits, len(topology.of(Binding))) == ({"max-queues": 10}, 1)
    finally:
        api("DELETE", f"vhosts/{vhost}")

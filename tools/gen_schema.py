#!/usr/bin/env python3
"""Generate the JSON Schemas of both topology formats from the kind registry,
mqctl.topology.kinds: mqctl/topology/schema.json (mqctl's own format) and
mqctl/topology/definitions.schema.json (RabbitMQ's definitions JSON, as mqctl reads it).

    python tools/gen_schema.py            # write both
    python tools/gen_schema.py --check    # exit 1 (with a diff) when a committed file differs

Each kind's descriptor holds its keys with their schema, in both formats; this assembles them.
Never edit the schemas by hand.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mqctl.topology.definitions import MARKERS, SINGLE_VHOST_MARKERS  # noqa: E402
from mqctl.topology.kinds import KINDS  # noqa: E402
from mqctl.topology.kinds.base import INTERPOLATED_REF  # noqa: E402

OUTPUT = ROOT / "mqctl" / "topology" / "schema.json"
DEFINITIONS_OUTPUT = ROOT / "mqctl" / "topology" / "definitions.schema.json"


def schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "format": {
            "const": "mqctl-topology",
            "description": "Marks a JSON file as mqctl's format rather than RabbitMQ definitions.",
        },
        "vhost": {
            "type": "string",
            "description": "Default vhost of every object in this file (default /).",
        },
    }
    defs: dict[str, Any] = {}
    for kind in KINDS:
        if kind.shared_schema is not None:
            defs.setdefault(kind.shared_schema, kind.section_schema())
            properties[kind.section] = {"$ref": f"#/$defs/{kind.shared_schema}"}
        else:
            properties[kind.section] = kind.section_schema()
    defs["interpolated"] = {
        "type": "string",
        "pattern": "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}",
        "description": "${VAR} or ${VAR:-default}, typed after substitution.",
    }
    assert INTERPOLATED_REF == {"$ref": "#/$defs/interpolated"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mqctl/mqctl/topology.schema.json",
        "title": "mqctl topology",
        "description": "A RabbitMQ topology for `mqctl topology validate|plan|apply`. Strings may "
        "use ${VAR} and ${VAR:-default}. Per-type rules (a stream must be durable, max_priority "
        "is for classic queues, ...) are checked by `mqctl topology validate`.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "patternProperties": {
            "^x-": {"description": "Free for your own use, such as YAML anchors (x-base: &base)."}
        },
        "$defs": defs,
    }


def definitions_schema() -> dict[str, Any]:
    """RabbitMQ's definitions format: what `rabbitmqctl export_definitions` and
    GET /api/definitions[/{vhost}] write (3.x and 4.x), and the keys mqctl's reader takes."""
    markers: dict[str, Any] = {name: {"type": "string"} for name in sorted(MARKERS)}
    sections = {kind.section: kind.definitions_section_schema() for kind in KINDS}
    # 4.x's per-vhost export adds the vhost's own record and where it came from.
    single: dict[str, Any] = {
        name: {} for name in sorted(SINGLE_VHOST_MARKERS - {"rabbitmq_definition_format"})
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mqctl/mqctl/definitions.schema.json",
        "title": "RabbitMQ definitions",
        "description": "RabbitMQ's definitions JSON (rabbitmqctl export_definitions, GET "
        "/api/definitions, GET /api/definitions/{vhost}), as `mqctl topology` reads it. Objects "
        "of a per-vhost export have no `vhost` key. Values are checked further by `mqctl "
        "topology validate`.",
        "type": "object",
        "properties": {
            **markers,
            "rabbitmq_definition_format": {"type": "string"},
            **sections,
        },
        "if": {
            "required": ["rabbitmq_definition_format"],
            "properties": {"rabbitmq_definition_format": {"const": "single_virtual_host"}},
        },
        "then": {"properties": single},
        "unevaluatedProperties": False,
    }


OUTPUTS = {OUTPUT: schema, DEFINITIONS_OUTPUT: definitions_schema}


def render(make: Any = schema) -> str:
    return json.dumps(make(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()
    status = 0
    for output, make in OUTPUTS.items():
        text = render(make)
        name = output.relative_to(ROOT)
        if not options.check:
            output.write_text(text, encoding="utf-8")
            continue
        committed = output.read_text(encoding="utf-8") if output.exists() else ""
        if committed == text:
            print(f"check-schema: {name} matches the kind registry")
            continue
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            text.splitlines(keepends=True),
            str(name),
            "generated",
        )
        sys.stderr.writelines(list(diff)[:60])
        print(
            f"check-schema: {name} is out of date with mqctl/topology/kinds; "
            "run 'python tools/gen_schema.py' and commit the result",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

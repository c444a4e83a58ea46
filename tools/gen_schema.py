#!/usr/bin/env python3
"""Generate mqctl/topology/schema.json (the JSON Schema of mqctl's topology format) from the kind
registry, mqctl.topology.kinds.

    python tools/gen_schema.py            # write mqctl/topology/schema.json
    python tools/gen_schema.py --check    # exit 1 (with a diff) when the committed file differs

Each kind's descriptor holds its keys with their schema; this assembles them. Never edit the
schema by hand.
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

from mqctl.topology.kinds import KINDS  # noqa: E402
from mqctl.topology.kinds.base import INTERPOLATED_REF  # noqa: E402

OUTPUT = ROOT / "mqctl" / "topology" / "schema.json"


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


def render() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()
    text = render()
    if not options.check:
        OUTPUT.write_text(text, encoding="utf-8")
        return 0
    committed = OUTPUT.read_text(encoding="utf-8")
    if committed == text:
        print(f"check-schema: {OUTPUT.relative_to(ROOT)} matches the kind registry")
        return 0
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        text.splitlines(keepends=True),
        str(OUTPUT.relative_to(ROOT)),
        "generated",
    )
    sys.stderr.writelines(list(diff)[:60])
    print(
        f"check-schema: {OUTPUT.relative_to(ROOT)} is out of date with mqctl/topology/kinds; "
        "run 'python tools/gen_schema.py' and commit the result",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

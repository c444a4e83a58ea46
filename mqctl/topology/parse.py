"""mqctl's YAML topology format -> model objects (with the location of every field).

The format is documented in the README ("Topology as code") and in `schema.json`, which
tools/gen_schema.py generates from the kind registry (`mqctl.topology.kinds`): each kind's keys
and reader live in its descriptor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqctl.topology.fields import Fields, items
from mqctl.topology.kinds import KINDS
from mqctl.topology.kinds.base import Located, ReadContext
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import Loc, TopologyObject

# The file-level keys: the format mark, the default vhost, and one section per kind.
TOP_KEYS = ("format", "vhost", *(kind.section for kind in KINDS))
TOP_KEY_SET = frozenset(TOP_KEYS)


def parse_document(
    data: Any,
    path: str,
    env: Mapping[str, str],
    problems: list[Problem],
    connection_vhost: str = "/",
    defaulted: list[TopologyObject] | None = None,
) -> list[Located]:
    """The objects of one file; those without a vhost (none of their own, none for the file) go
    to `connection_vhost` and are added to `defaulted`."""
    if not isinstance(data, LMap):
        problems.append(
            Problem(Loc(path, 1, 1), "a topology file must be a mapping", ", ".join(TOP_KEYS))
        )
        return []
    # Top-level keys starting with x- are free: a place for YAML anchors (`x-base: &base ...`,
    # then `<<: *base`), as in Compose files.
    extensions = {key for key in data if key.startswith("x-")}
    top = Fields(data, "a topology file", TOP_KEY_SET | extensions, problems)
    file_vhost = top.text("vhost")
    ctx = ReadContext(problems, default_vhost=file_vhost or connection_vhost, env=env)
    out: list[Located] = []
    for kind in KINDS:
        for item in items(
            data.get(kind.section), kind.section, data.loc_of(kind.section), problems
        ):
            obj, where = kind.read_yaml(item, ctx)
            if (
                file_vhost is None
                and defaulted is not None
                and "vhost" not in item
                and obj.vhost_name is not None
            ):
                defaulted.append(obj)
            out.append((obj, where))
    return out

"""Vhosts: name, description, tags, default queue type and limits."""

from __future__ import annotations

from typing import Any

from mqctl.topology.fields import Fields
from mqctl.topology.kinds.base import (
    DEFINITION_LIMITS,
    DEFINITION_NAME,
    FLAG,
    NAME,
    TAGS,
    TEXT,
    Api,
    DefinitionFields,
    Key,
    Kind,
    Lenient,
    Located,
    ReadContext,
    int_map,
    limits_schema,
    locator,
    put_limits,
    read_limits,
    write_limits,
)
from mqctl.topology.loader import LMap
from mqctl.topology.model import Vhost
from mqctl.topology.rules import QUEUE_TYPES, check_vhost

# The keys of its entries in RabbitMQ's definitions JSON.
DEFINITION_KEYS = (
    DEFINITION_NAME,
    Key("description", TEXT),
    Key("tags", TAGS),
    Key("default_queue_type", TEXT),
    Key("metadata", {"type": "object", "description": "description, tags, default_queue_type"}),
    Key("limits", DEFINITION_LIMITS),
    Key("tracing", FLAG),
)


def read_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a vhost", KIND.key_names, ctx.problems)
    vhost = Vhost(
        name=f.name(),
        description=f.text("description"),
        tags=f.text_list("tags") if f.has("tags") else None,
        default_queue_type=f.text("default_queue_type"),
        limits=read_limits(f, ("max_connections", "max_queues")),
        loc=item.loc,
    )
    return vhost, locator(item)


def write_yaml(v: Vhost) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": v.name}
    if v.description is not None:
        entry["description"] = v.description
    if v.tags is not None:
        entry["tags"] = list(v.tags)
    if v.default_queue_type:
        entry["default_queue_type"] = v.default_queue_type
    if v.limits:
        entry["limits"] = write_limits(v.limits)
    return entry


def read_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a vhost", KIND.definition_key_names, ctx.problems)
    mf = Lenient(f.mapping("metadata"), "vhost metadata", ctx.problems)
    description = f.text("description") if f.has("description") else mf.text("description")
    tags = (
        f.text_list("tags") if f.has("tags") else (mf.text_list("tags") if mf.has("tags") else None)
    )
    dqt = f.text("default_queue_type") or mf.text("default_queue_type")
    vhost = Vhost(
        name=f.name(),
        description=description,
        tags=tags,
        default_queue_type=None if dqt in (None, "undefined") else dqt,
        limits=int_map(f, "limits"),
        loc=item.loc,
    )
    return vhost, locator(item)


def write_definitions(v: Vhost) -> dict[str, Any]:
    return {
        "name": v.name,
        **({"description": v.description} if v.description is not None else {}),
        **({"tags": list(v.tags)} if v.tags is not None else {}),
        **({"default_queue_type": v.default_queue_type} if v.default_queue_type else {}),
    }


def read_broker(v: dict[str, Any]) -> Vhost:
    return Vhost(
        name=v["name"],
        description=v.get("description") or "",
        tags=tuple(v.get("tags") or ()),
        default_queue_type=v.get("default_queue_type"),
        limits=dict(v.get("limits") or {}),
    )


def api_put(api: Api, v: Vhost) -> None:
    body: dict[str, Any] = {}
    if v.description is not None:
        body["description"] = v.description
    if v.tags is not None:
        body["tags"] = ",".join(v.tags)
    if v.default_queue_type:
        # 3.10-3.12 read `defaultqueuetype`; later versions `default_queue_type`.
        body["defaultqueuetype"] = v.default_queue_type
        body["default_queue_type"] = v.default_queue_type
    api.put("vhosts", v.name, body=body)
    if v.limits is not None:
        put_limits(api, "vhost-limits", v.name, v.limits)


def api_delete(api: Api, v: Vhost, _if_empty: bool) -> None:
    api.delete("vhosts", v.name)


KIND = Kind(
    model=Vhost,
    description="A virtual host.",
    keys=(
        Key("name", NAME, required=True),
        Key("description", {"type": "string"}),
        Key("tags", TAGS),
        Key("default_queue_type", {"enum": list(QUEUE_TYPES)}),
        Key("limits", limits_schema(("max_connections", "max_queues"))),
    ),
    read_yaml=read_yaml,
    write_yaml=write_yaml,
    read_definitions=read_definitions,
    definition_keys=DEFINITION_KEYS,
    write_definitions=write_definitions,
    read_broker=read_broker,
    api_put=api_put,
    api_delete=api_delete,
    check=check_vhost,
    section_description="Vhosts this file declares, and owns (only they are pruned).",
)

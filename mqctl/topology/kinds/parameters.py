"""Runtime parameters (vhost-scoped: shovels, federation upstreams, ...) and global ones."""

from __future__ import annotations

from typing import Any

from mqctl.topology.fields import Fields, typed_at
from mqctl.topology.kinds.base import (
    DEFINITION_NAME,
    DEFINITION_VHOST,
    NAME,
    VHOST,
    Api,
    DefinitionFields,
    Key,
    Kind,
    Located,
    ReadContext,
    locator,
)
from mqctl.topology.loader import LMap
from mqctl.topology.model import GlobalParameter, Parameter

# The keys of its entries in RabbitMQ's definitions JSON.
PARAMETER_DEFINITION_KEYS = (
    DEFINITION_VHOST,
    Key(
        "component",
        {"type": "string", "description": "shovel, federation-upstream, ..."},
        required=True,
    ),
    DEFINITION_NAME,
    Key("value", {}),
)

# The keys of its entries in RabbitMQ's definitions JSON.
GLOBAL_DEFINITION_KEYS = (DEFINITION_NAME, Key("value", {}))


def _value(item: LMap, ctx: ReadContext) -> Any:
    return typed_at(item, "value", ctx.problems)


def read_parameter_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a parameter", PARAMETER.key_names, ctx.problems)
    param = Parameter(
        vhost=ctx.vhost_of(f),
        component=f.text("component", required=True) or "",
        name=f.name(),
        value=_value(item, ctx),
        loc=item.loc,
    )
    return param, locator(item)


def read_parameter_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a parameter", PARAMETER.definition_key_names, ctx.problems)
    component = f.text("component", required=True) or ""
    vhost = ctx.vhost_of(f)
    param = Parameter(
        vhost=vhost, component=component, name=f.name(), value=_value(item, ctx), loc=item.loc
    )
    return param, locator(item)


def write_parameter_yaml(p: Parameter) -> dict[str, Any]:
    return {"component": p.component, "name": p.name, "value": p.value}


def write_parameter_definitions(p: Parameter) -> dict[str, Any]:
    return {"vhost": p.vhost, "component": p.component, "name": p.name, "value": p.value}


def read_parameter_broker(p: dict[str, Any]) -> Parameter:
    return Parameter(p["vhost"], p["component"], p["name"], p.get("value"))


def put_parameter(api: Api, p: Parameter) -> None:
    api.put("parameters", p.component, p.vhost, p.name, body={"value": p.value})


def delete_parameter(api: Api, p: Parameter, _if_empty: bool) -> None:
    api.delete("parameters", p.component, p.vhost, p.name)


PARAMETER = Kind(
    model=Parameter,
    description="A runtime parameter (shovel, federation-upstream, ...); needs its plugin.",
    keys=(
        Key("component", NAME, required=True),
        Key("vhost", VHOST),
        Key("name", NAME, required=True),
        Key("value", {}, required=True),
    ),
    read_yaml=read_parameter_yaml,
    write_yaml=write_parameter_yaml,
    read_definitions=read_parameter_definitions,
    definition_keys=PARAMETER_DEFINITION_KEYS,
    write_definitions=write_parameter_definitions,
    read_broker=read_parameter_broker,
    api_put=put_parameter,
    api_delete=delete_parameter,
)


def read_global_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a global parameter", GLOBAL_PARAMETER.key_names, ctx.problems)
    return GlobalParameter(name=f.name(), value=_value(item, ctx), loc=item.loc), locator(item)


def read_global_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(
        item, "a global parameter", GLOBAL_PARAMETER.definition_key_names, ctx.problems
    )
    return GlobalParameter(name=f.name(), value=_value(item, ctx), loc=item.loc), locator(item)


def write_global(g: GlobalParameter) -> dict[str, Any]:
    return {"name": g.name, "value": g.value}


def read_global_broker(g: dict[str, Any]) -> GlobalParameter:
    return GlobalParameter(g["name"], g.get("value"))


def put_global(api: Api, g: GlobalParameter) -> None:
    api.put("global-parameters", g.name, body={"name": g.name, "value": g.value})


def delete_global(api: Api, g: GlobalParameter, _if_empty: bool) -> None:
    api.delete("global-parameters", g.name)


GLOBAL_PARAMETER = Kind(
    model=GlobalParameter,
    description="A global parameter.",
    keys=(Key("name", NAME, required=True), Key("value", {}, required=True)),
    read_yaml=read_global_yaml,
    write_yaml=write_global,
    read_definitions=read_global_definitions,
    definition_keys=GLOBAL_DEFINITION_KEYS,
    write_definitions=write_global,
    read_broker=read_global_broker,
    api_put=put_global,
    api_delete=delete_global,
)

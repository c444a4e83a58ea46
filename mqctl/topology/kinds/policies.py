"""Policies and operator policies: the same keys, two API paths."""

from __future__ import annotations

from typing import Any

from mqctl.topology.fields import Fields
from mqctl.topology.kinds.base import (
    DEFINITION_NAME,
    DEFINITION_VHOST,
    INTERPOLATED_REF,
    NAME,
    OBJECT,
    TEXT,
    VHOST,
    Api,
    DefinitionFields,
    Key,
    Kind,
    Located,
    ReadContext,
    Where,
    locator,
)
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import OperatorPolicy, Policy
from mqctl.topology.policy_rules import check_definition
from mqctl.topology.rules import POLICY_TARGETS, check_policy

KEYS = (
    Key("name", NAME, required=True),
    Key("vhost", VHOST),
    Key("pattern", {"type": "string"}, required=True),
    Key("apply_to", {"enum": list(POLICY_TARGETS), "default": "all"}),
    Key("priority", {"anyOf": [{"type": "integer", "default": 0}, INTERPOLATED_REF]}),
    Key("definition", {"type": "object", "minProperties": 1}, required=True),
)
KEY_NAMES = frozenset(k.name for k in KEYS)


# The keys of its entries in RabbitMQ's definitions JSON.
DEFINITION_KEYS = (
    DEFINITION_VHOST,
    DEFINITION_NAME,
    Key("pattern", TEXT, required=True),
    Key("apply-to", {"enum": list(POLICY_TARGETS)}),
    Key("definition", OBJECT),
    Key("priority", {"type": "integer"}),
)
DEFINITION_KEY_NAMES = frozenset(k.name for k in DEFINITION_KEYS)


def _reader(cls: type[Policy]) -> Any:
    def read_yaml(item: LMap, ctx: ReadContext) -> Located:
        f = Fields(item, "a policy", KEY_NAMES, ctx.problems)
        policy = cls(
            vhost=ctx.vhost_of(f),
            name=f.name(),
            pattern=f.text("pattern", required=True) or "",
            definition=f.arguments("definition"),
            apply_to=f.text("apply_to", "all") or "all",
            priority=f.number("priority", 0) or 0,
            loc=item.loc,
        )
        return policy, locator(item)

    def read_definitions(item: LMap, ctx: ReadContext) -> Located:
        f = DefinitionFields(item, "a policy", DEFINITION_KEY_NAMES, ctx.problems)
        policy = cls(
            vhost=ctx.vhost_of(f),
            name=f.name(),
            pattern=f.text("pattern", required=True) or "",
            definition=f.arguments("definition"),
            apply_to=f.text("apply-to", "all") or "all",
            priority=f.number("priority", 0) or 0,
            loc=item.loc,
        )
        return policy, locator(item, {"apply_to": "apply-to"})

    def read_broker(p: dict[str, Any]) -> Policy:
        return cls(
            p["vhost"],
            p["name"],
            p["pattern"],
            p.get("definition") or {},
            p.get("apply-to") or "all",
            int(p.get("priority") or 0),
        )

    return read_yaml, read_definitions, read_broker


def write_yaml(p: Policy) -> dict[str, Any]:
    return {
        "name": p.name,
        "pattern": p.pattern,
        "apply_to": p.apply_to,
        "priority": p.priority,
        "definition": p.definition,
    }


def write_definitions(p: Policy) -> dict[str, Any]:
    return {
        "vhost": p.vhost,
        "name": p.name,
        "pattern": p.pattern,
        "apply-to": p.apply_to,
        "definition": p.definition,
        "priority": p.priority,
    }


def _api(path: str) -> tuple[Any, Any]:
    def put(api: Api, p: Policy) -> None:
        body = {
            "pattern": p.pattern,
            "definition": p.definition,
            "priority": p.priority,
            "apply-to": p.apply_to,
        }
        api.put(path, p.vhost, p.name, body=body)

    def delete(api: Api, p: Policy, _if_empty: bool) -> None:
        api.delete(path, p.vhost, p.name)

    return put, delete


def _check(policy: Policy, where: Where) -> list[Problem]:
    return [*check_policy(policy, where), *check_definition(policy, where)]


def _kind(cls: type[Policy], path: str) -> Kind:
    read_yaml, read_definitions, read_broker = _reader(cls)
    put, delete = _api(path)
    return Kind(
        model=cls,
        description="A policy (updated in place).",
        keys=KEYS,
        read_yaml=read_yaml,
        write_yaml=write_yaml,
        read_definitions=read_definitions,
        definition_keys=DEFINITION_KEYS,
        write_definitions=write_definitions,
        read_broker=read_broker,
        api_put=put,
        api_delete=delete,
        check=_check,
        shared_schema="policies",
    )


POLICY = _kind(Policy, "policies")
OPERATOR_POLICY = _kind(OperatorPolicy, "operator-policies")

"""What describes one kind of topology object, once: `Kind`.

A kind's descriptor holds everything the engine does differently per kind: the keys of mqctl's
YAML format (with their JSON Schema, from which `schema.json` is generated), the reader of those
keys, the reader and writer of RabbitMQ's definitions JSON, the writer of mqctl's format (export),
the management-API requests that create, update and delete it, and, for the kinds AMQP can
declare, the AMQP methods. The engine loops over the registry (`mqctl.topology.kinds.KINDS`)
instead of branching on the kind in every function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from mqctl.topology.fields import Fields
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import Loc, TopologyObject

Where = Callable[[str], Loc]
Model = TypeVar("Model", bound=TopologyObject)
Located = tuple[TopologyObject, Where]
Schema = dict[str, Any]


def assembled(kind: type[Model], fields: dict[str, Any]) -> Model:
    """A model object made from every one of its fields (`loc` first, then in their order),
    without the frozen dataclass's `__init__`, which sets each through object.__setattr__: a
    tenth of validate's time for a file of 90,000 objects. tests/test_topology_validate.py
    checks that the readers' objects equal the constructor's, field for field."""
    made = object.__new__(kind)
    made.__dict__.update(fields)
    return made


# JSON Schema pieces several kinds share.
INTERPOLATED_REF: Schema = {"$ref": "#/$defs/interpolated"}
NAME: Schema = {"type": "string", "minLength": 1}
VHOST: Schema = {
    "type": "string",
    "description": "The object's vhost; default: the file's `vhost`, else /.",
}
AMQP_TYPE_NAMES = (
    "string",
    "longstr",
    "long",
    "longlong",
    "int",
    "short",
    "byte",
    "float",
    "double",
    "bool",
)
ARGUMENTS: Schema = {
    "type": "object",
    "description": "x-arguments by name. A value whose AMQP type YAML cannot say is written "
    "{amqp_type: long|string|double|bool|..., value: V}.",
    "additionalProperties": {
        "anyOf": [
            {
                "type": "object",
                "required": ["amqp_type", "value"],
                "additionalProperties": False,
                "properties": {"amqp_type": {"enum": list(AMQP_TYPE_NAMES)}, "value": {}},
            },
            {},
        ]
    },
}


def interpolable(schema: Schema) -> Schema:
    """A number or flag that may also be written `${VAR}` (typed after substitution)."""
    return {"anyOf": [schema, INTERPOLATED_REF]}


def limits_schema(names: tuple[str, ...]) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: interpolable({"type": "integer", "minimum": -1}) for name in names},
    }


TAGS: Schema = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}

# Pieces of the definitions format's schema (RabbitMQ's own keys).
TEXT: Schema = {"type": "string"}
FLAG: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
# Limits as a mapping, or as `rabbitmqctl export_definitions` writes them: [name, value] pairs
# or one-key mappings (see int_map).
DEFINITION_LIMITS: Schema = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {
                        "type": "array",
                        "prefixItems": [{"type": "string"}, {"type": "integer"}],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                    {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "additionalProperties": {"type": "integer"},
                    },
                ]
            },
        },
    ]
}


@dataclass(frozen=True)
class Key:
    """One key of mqctl's YAML format: its name and its JSON Schema."""

    name: str
    schema: Schema = field(default_factory=dict)
    required: bool = False


DEFINITION_NAME = Key("name", {"type": "string"}, required=True)
DEFINITION_VHOST = Key(
    "vhost", {"type": "string", "description": "Left out by a per-vhost export."}
)


@dataclass
class ReadContext:
    """What a reader needs beside the mapping: the file's default vhost, the environment (for
    password_env), and the list problems are collected in."""

    problems: list[Problem]
    default_vhost: str | None = "/"
    env: Mapping[str, str] = field(default_factory=dict)
    # Definitions files: a missing `vhost` is a problem unless a default was given.
    vhost_required: bool = False
    # A per-vhost definitions file applied to --vhost NAME: every object goes there.
    override_vhost: bool = False

    def vhost_of(self, f: Fields) -> str:
        if self.override_vhost and self.default_vhost is not None:
            return self.default_vhost
        if f.has("vhost"):
            return f.text("vhost", required=True) or ""
        if self.default_vhost is not None:
            return self.default_vhost
        if self.vhost_required:
            self.problems.append(
                Problem(
                    f.data.loc,
                    f"{f.what} has no 'vhost'",
                    "vhost: <text>; for a per-vhost export (GET /api/definitions/VHOST) "
                    "give --vhost",
                )
            )
        return ""


class Api(Protocol):
    """The management API as the descriptors use it (mqctl.management.ManagementClient)."""

    def get(self, *segments: str, params: dict[str, Any] | None = None) -> Any: ...

    def put(self, *segments: str, body: Any = None) -> Any: ...

    def post(self, *segments: str, body: Any = None) -> Any: ...

    def delete(self, *segments: str, params: dict[str, Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class AmqpMethods:
    """How AMQP declares and deletes a kind, on a pika channel (blocking, or the underlying one
    with callback=None in `extra` for the nowait form)."""

    declare: Callable[..., None]  # (channel, obj, **extra)
    delete: Callable[[Any, Any, bool], None]  # (channel, obj, if_empty)


def _no_checks(_obj: Any, _where: Where) -> list[Problem]:
    return []


# The names of a tuple of keys, made once: every entry of a section asks. (Not cached_property:
# the compiled build, tools/build_mypyc.py, reads that as a plain property, made on every call.)
# Keyed by the tuple's id, holding the tuple, so that the id cannot be another's.
_NAMES: dict[int, tuple[tuple[Key, ...], frozenset[str]]] = {}


def _names_of(keys: tuple[Key, ...]) -> frozenset[str]:
    found = _NAMES.get(id(keys))
    if found is None or found[0] is not keys:
        found = _NAMES[id(keys)] = (keys, frozenset(k.name for k in keys))
    return found[1]


@dataclass(frozen=True)
class Kind:
    """One kind of object, described once (see the module's docstring)."""

    model: type[TopologyObject]
    description: str  # of one entry, in the JSON Schema
    keys: tuple[Key, ...]  # mqctl's format
    read_yaml: Callable[[LMap, ReadContext], Located]
    write_yaml: Callable[[Any], dict[str, Any]]
    read_definitions: Callable[[LMap, ReadContext], Located]
    write_definitions: Callable[[Any], dict[str, Any]]
    read_broker: Callable[[dict[str, Any]], TopologyObject]
    api_put: Callable[[Api, Any], None]
    api_delete: Callable[[Api, Any, bool], None]
    check: Callable[[Any, Where], list[Problem]] = _no_checks
    amqp: AmqpMethods | None = None
    # Extra JSON Schema of one entry (`oneOf` and the like).
    schema_extra: Schema = field(default_factory=dict)
    # The section's schema lives in $defs under this name (kinds that share one, as policies).
    shared_schema: str | None = None
    section_description: str | None = None  # of the whole section, in the JSON Schema
    # The keys of its entries in RabbitMQ's definitions JSON, with their JSON Schema (from which
    # definitions.schema.json is generated); what read_definitions accepts.
    definition_keys: tuple[Key, ...] = ()

    @property
    def section(self) -> str:
        """The section's name in both file formats."""
        return self.model.kind

    @property
    def key_names(self) -> frozenset[str]:
        return _names_of(self.keys)

    @property
    def definition_key_names(self) -> frozenset[str]:
        return _names_of(self.definition_keys)

    def definitions_section_schema(self) -> Schema:
        """The section's JSON Schema in RabbitMQ's definitions format."""
        required = [k.name for k in self.definition_keys if k.required]
        entry: Schema = {"type": "object", "additionalProperties": False}
        if required:
            entry["required"] = required
        entry["properties"] = {k.name: k.schema for k in self.definition_keys}
        return {"type": "array", "items": entry}

    def section_schema(self) -> Schema:
        schema: Schema = {"type": "array"}
        if self.section_description:
            schema["description"] = self.section_description
        schema["items"] = self.entry_schema()
        return schema

    def entry_schema(self) -> Schema:
        required = [k.name for k in self.keys if k.required]
        schema: Schema = {
            "type": "object",
            "description": self.description,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        schema["properties"] = {k.name: k.schema for k in self.keys}
        schema.update(self.schema_extra)
        return schema


def locator(data: LMap, renames: Mapping[str, str] | None = None) -> Where:
    """Locate a model field or x-argument back in the mapping the user wrote."""
    renames = renames or {}
    args = data.get("arguments", data.get("definition"))  # a policy's keys are in definition

    def where(name: str) -> Loc:
        key = renames.get(name, name)
        if key in data:
            return data.loc_of(key)
        if isinstance(args, LMap) and name in args:
            return args.loc_of(name)
        return data.loc

    return where


# mqctl's limit keys and the broker's names for them.
LIMIT_NAMES = {
    "max_connections": "max-connections",
    "max_queues": "max-queues",
    "max_channels": "max-channels",
}
LIMIT_KEYS = {v: k for k, v in LIMIT_NAMES.items()}


def read_limits(f: Fields, names: tuple[str, ...]) -> dict[str, int] | None:
    """mqctl's `limits: {max_connections: 5}` as the broker's {"max-connections": 5}."""
    if not f.has("limits"):
        return None
    raw = f.mapping("limits")
    limits: dict[str, int] = {}
    lf = Fields(raw, "limits", names, f.problems)
    for name in names:
        value = lf.number(name, None, minimum=-1)
        if value is not None:
            limits[LIMIT_NAMES[name]] = value
    return limits


def write_limits(limits: Mapping[str, int]) -> dict[str, int]:
    return {LIMIT_KEYS.get(k, k): n for k, n in limits.items()}


def int_map(f: Fields, key: str) -> dict[str, int] | None:
    """A definitions file's limits: a mapping, or as `rabbitmqctl export_definitions` writes
    them, a list of [name, value] pairs (or of one-key mappings); [] is no limits."""
    if not f.has(key):
        return None
    value = f.data[key]
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif isinstance(item, dict) and len(item) == 1:
                pairs.extend(item.items())
            else:
                f.bad(key, f"{key} must be a mapping or a list of [name, value] pairs")
                return None
    else:
        pairs = list(f.mapping(key).items())
    return {str(k): v for k, v in pairs if isinstance(v, int) and not isinstance(v, bool)}


def put_limits(api: Api, path: str, owner: str, limits: Mapping[str, int]) -> None:
    """Make the limits of a vhost or user exactly `limits`: set the changed, clear the others."""
    current: dict[str, Any] = {}
    for item in api.get(path, owner) or []:
        current.update(item.get("value", {}))
    for name, value in limits.items():
        if current.get(name) != value:
            api.put(path, owner, name, body={"value": value})
    for name in current.keys() - limits.keys():
        api.delete(path, owner, name)


class Lenient(Fields):
    """Fields whose keys are free (a vhost's metadata)."""

    def __init__(self, data: LMap, what: str, problems: list[Problem]) -> None:
        super().__init__(data, what, data.keys(), problems)


class DefinitionFields(Fields):
    """An entry of a definitions file: an unknown key is a problem (a misspelled `durabel`
    would otherwise be dropped without a word)."""

    def __init__(
        self, data: LMap, what: str, allowed: frozenset[str], problems: list[Problem]
    ) -> None:
        super().__init__(data, f"{what} (definitions)", allowed, problems)
        self.what = what

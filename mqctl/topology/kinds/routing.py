"""Exchanges, queues and bindings: the kinds AMQP can declare too."""

from __future__ import annotations

from typing import Any

from mqctl.errors import BrokerError
from mqctl.topology.fields import Fields, typed_at
from mqctl.topology.kinds.base import (
    ARGUMENTS,
    DEFINITION_NAME,
    DEFINITION_VHOST,
    FLAG,
    NAME,
    OBJECT,
    TEXT,
    VHOST,
    AmqpMethods,
    Api,
    DefinitionFields,
    Key,
    Kind,
    Located,
    ReadContext,
    assembled,
    interpolable,
    locator,
)
from mqctl.topology.loader import LMap
from mqctl.topology.model import Binding, Exchange, Queue, canonical, same_value
from mqctl.topology.rules import (
    BUILTIN_EXCHANGE_TYPES,
    QUEUE_ARGUMENT_BY_NAME,
    QUEUE_ARGUMENTS,
    QUEUE_TYPES,
    check_binding,
    check_exchange,
    check_queue,
)

# The keys of its entries in RabbitMQ's definitions JSON.
EXCHANGE_DEFINITION_KEYS = (
    DEFINITION_NAME,
    DEFINITION_VHOST,
    Key("type", TEXT),
    Key("durable", FLAG),
    Key("auto_delete", FLAG),
    Key("internal", FLAG),
    Key("arguments", OBJECT),
)

# The keys of its entries in RabbitMQ's definitions JSON.
QUEUE_DEFINITION_KEYS = (
    DEFINITION_NAME,
    DEFINITION_VHOST,
    Key("type", {"type": "string", "description": "classic, quorum or stream (4.x writes it)."}),
    Key("durable", FLAG),
    Key("auto_delete", FLAG),
    Key("arguments", OBJECT),
)

# The keys of its entries in RabbitMQ's definitions JSON.
BINDING_DEFINITION_KEYS = (
    Key("source", {"type": "string", "description": 'The source exchange; "" is the default.'}),
    DEFINITION_VHOST,
    Key("destination", TEXT, required=True),
    Key("destination_type", {"enum": ["queue", "exchange"]}),
    Key("routing_key", TEXT),
    Key("arguments", OBJECT),
)


def _flag(default: bool) -> dict[str, Any]:
    return interpolable({"type": "boolean", "default": default})


# --- exchanges ---------------------------------------------------------------------------------


def read_exchange_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "an exchange", EXCHANGE.key_names, ctx.problems)
    args = f.arguments("arguments")
    ae = f.text("alternate_exchange")
    if ae is not None:
        if args.get("alternate-exchange", ae) != ae:
            f.bad(
                "alternate_exchange",
                f"alternate_exchange and arguments.alternate-exchange set the same argument to "
                f"{ae!r} and {args['alternate-exchange']!r}",
                "one of them: alternate_exchange: NAME",
            )
        args["alternate-exchange"] = ae
    exchange = assembled(
        Exchange,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "name": f.name(),
            "type": f.text("type", "direct") or "direct",
            "durable": f.flag("durable", True),
            "auto_delete": f.flag("auto_delete", False),
            "internal": f.flag("internal", False),
            "arguments": args,
        },
    )
    return exchange, locator(item, {"alternate-exchange": "alternate_exchange"})


def write_exchange_yaml(e: Exchange) -> dict[str, Any]:
    body: dict[str, Any] = {"name": e.name, "type": e.type}
    if not e.durable:
        body["durable"] = False
    if e.auto_delete:
        body["auto_delete"] = True
    if e.internal:
        body["internal"] = True
    args = dict(e.arguments)
    if isinstance(args.get("alternate-exchange"), str):
        body["alternate_exchange"] = args.pop("alternate-exchange")
    if args:
        body["arguments"] = args
    return body


def read_exchange_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "an exchange", EXCHANGE.definition_key_names, ctx.problems)
    exchange = assembled(
        Exchange,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "name": f.name(),
            "type": f.text("type", "direct") or "direct",
            "durable": f.flag("durable", True),
            "auto_delete": f.flag("auto_delete", False),
            "internal": f.flag("internal", False),
            "arguments": f.arguments("arguments"),
        },
    )
    return exchange, locator(item)


def exchange_definition(e: Exchange) -> dict[str, Any]:
    return {
        "name": e.name,
        "vhost": e.vhost,
        "type": e.type,
        "durable": e.durable,
        "auto_delete": e.auto_delete,
        "internal": e.internal,
        "arguments": e.arguments,
    }


def read_exchange_broker(e: dict[str, Any]) -> Exchange:
    return Exchange(
        e["vhost"],
        e["name"],
        e.get("type", "direct"),
        bool(e.get("durable", True)),
        bool(e.get("auto_delete", False)),
        bool(e.get("internal", False)),
        e.get("arguments") or {},
    )


def put_exchange(api: Api, e: Exchange) -> None:
    api.put("exchanges", e.vhost, e.name, body=exchange_definition(e))


def delete_exchange(api: Api, e: Exchange, _if_empty: bool) -> None:
    api.delete("exchanges", e.vhost, e.name)


def declare_exchange(channel: Any, e: Exchange, **extra: Any) -> None:
    channel.exchange_declare(
        e.name,
        exchange_type=e.type,
        durable=e.durable,
        auto_delete=e.auto_delete,
        internal=e.internal,
        arguments=e.arguments or None,
        **extra,
    )


def undeclare_exchange(channel: Any, e: Exchange, _if_empty: bool) -> None:
    channel.exchange_delete(e.name)


EXCHANGE = Kind(
    model=Exchange,
    description="An exchange; its type, flags and arguments cannot change in place.",
    keys=(
        Key("name", NAME, required=True),
        Key("vhost", VHOST),
        Key(
            "type",
            {
                "type": "string",
                "description": "direct, fanout, topic, headers, or a plugin type (x-...).",
                "anyOf": [{"enum": list(BUILTIN_EXCHANGE_TYPES)}, {"pattern": "^x-"}],
            },
        ),
        Key("durable", _flag(True)),
        Key("auto_delete", _flag(False)),
        Key("internal", _flag(False)),
        Key(
            "alternate_exchange",
            {"type": "string", "description": "Where unroutable messages go (alternate-exchange)."},
        ),
        Key("arguments", ARGUMENTS),
    ),
    read_yaml=read_exchange_yaml,
    write_yaml=write_exchange_yaml,
    read_definitions=read_exchange_definitions,
    definition_keys=EXCHANGE_DEFINITION_KEYS,
    write_definitions=exchange_definition,
    read_broker=read_exchange_broker,
    api_put=put_exchange,
    api_delete=delete_exchange,
    check=check_exchange,
    amqp=AmqpMethods(declare_exchange, undeclare_exchange),
)


# --- queues ------------------------------------------------------------------------------------


_QUEUE_ARGUMENT_KEYS = frozenset(spec.key for spec in QUEUE_ARGUMENTS)


def read_queue_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a queue", QUEUE.key_names, ctx.problems)
    args = f.arguments("arguments")
    qtype = f.text("type", "classic") or "classic"
    if f.has("type") and args.get("x-queue-type", qtype) != qtype:
        f.bad(
            "type",
            f"type and arguments.x-queue-type set the queue's type to {qtype!r} and "
            f"{args['x-queue-type']!r}",
            "one of them: type: TYPE",
        )
    if qtype != "classic":
        args["x-queue-type"] = qtype
    renames: dict[str, str] = {"x-queue-type": "type"}
    # Most queues set few: skip the others fast. (`&` with the keys makes a set, where the
    # compiled build expects the frozenset mypy infers.)
    given = _QUEUE_ARGUMENT_KEYS.intersection(item.keys())
    for spec in QUEUE_ARGUMENTS if given else ():
        if spec.key in given and f.has(spec.key):
            value = typed_at(f.data, spec.key, f.problems)
            if spec.argument in args and not same_value(args[spec.argument], value):
                f.bad(
                    spec.key,
                    f"{spec.key} and arguments.{spec.argument} set the same argument to "
                    f"{canonical(value)} and {canonical(args[spec.argument])}",
                    f"one of them: {spec.key}: VALUE or arguments: {{{spec.argument}: VALUE}}",
                )
            args[spec.argument] = value
            renames[spec.argument] = spec.key
    if f.flag("exclusive", False):
        why = (
            f"a {qtype} queue cannot be exclusive"
            if qtype != "classic"
            else "an exclusive queue belongs to one connection and cannot be provisioned"
        )
        f.bad("exclusive", why, "exclusive: false")
    queue = assembled(
        Queue,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "name": f.name(),
            "durable": f.flag("durable", True),
            "auto_delete": f.flag("auto_delete", False),
            "arguments": args,
            "type_given": f.has("type") or "x-queue-type" in args,
        },
    )
    return queue, locator(item, renames)


def write_queue_yaml(q: Queue) -> dict[str, Any]:
    body: dict[str, Any] = {"name": q.name}
    args = dict(q.arguments)
    qtype = args.pop("x-queue-type", None)
    if qtype is not None and qtype != "classic":
        body["type"] = qtype
    elif qtype == "classic":
        args["x-queue-type"] = "classic"  # stated explicitly on the broker: keep it that way
    if not q.durable:
        body["durable"] = False
    if q.auto_delete:
        body["auto_delete"] = True
    for name in list(args):
        spec = QUEUE_ARGUMENT_BY_NAME.get(name)
        if (
            spec is not None
            and spec.check(args[name]) is None
            and (qtype or "classic") in spec.types
        ):
            body[spec.key] = args.pop(name)
    if args:
        body["arguments"] = args
    return body


def read_queue_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a queue", QUEUE.definition_key_names, ctx.problems)
    args = f.arguments("arguments")
    qtype = f.text("type")
    if qtype and qtype != "classic" and "x-queue-type" not in args:
        args["x-queue-type"] = qtype
    queue = assembled(
        Queue,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "name": f.name(),
            "durable": f.flag("durable", True),
            "auto_delete": f.flag("auto_delete", False),
            "arguments": args,
            "type_given": True,
        },
    )
    return queue, locator(item)


def queue_definition(q: Queue) -> dict[str, Any]:
    return {
        "name": q.name,
        "vhost": q.vhost,
        "durable": q.durable,
        "auto_delete": q.auto_delete,
        "arguments": q.arguments,
    }


def read_queue_broker(q: dict[str, Any]) -> Queue:
    return Queue(
        q["vhost"],
        q["name"],
        bool(q.get("durable", True)),
        bool(q.get("auto_delete", False)),
        q.get("arguments") or {},
    )


def put_queue(api: Api, q: Queue) -> None:
    api.put("queues", q.vhost, q.name, body=queue_definition(q))


# The broker refuses if-empty on these: for them mqctl's check just before is the only guard.
NO_IF_EMPTY = ("quorum", "stream")


def delete_queue(api: Api, q: Queue, if_empty: bool) -> None:
    # Quorum queues refuse if-unused; consumers were checked just before (queue_usage).
    guarded = if_empty and q.queue_type not in NO_IF_EMPTY
    api.delete("queues", q.vhost, q.name, params={"if-empty": "true"} if guarded else None)


def declare_queue(channel: Any, q: Queue, **extra: Any) -> None:
    channel.queue_declare(
        q.name,
        durable=q.durable,
        auto_delete=q.auto_delete,
        arguments=q.arguments or None,
        **extra,
    )


def undeclare_queue(channel: Any, q: Queue, if_empty: bool) -> None:
    # Quorum queues refuse if-unused; consumers were checked just before.
    channel.queue_delete(q.name, if_empty=if_empty and q.queue_type not in NO_IF_EMPTY)


def _queue_argument_key(spec: Any) -> Key:
    described = f"{spec.argument}; {', '.join(spec.types)} queues."
    return Key(spec.key, {**spec.schema, "description": described})


QUEUE = Kind(
    model=Queue,
    description="A queue; its type, durability and arguments cannot change in place "
    "(use a policy, or --recreate).",
    keys=(
        Key("name", NAME, required=True),
        Key("vhost", VHOST),
        Key("type", {"enum": list(QUEUE_TYPES), "default": "classic"}),
        Key("durable", _flag(True)),
        Key("auto_delete", _flag(False)),
        Key(
            "exclusive", {"const": False, "description": "Exclusive queues cannot be provisioned."}
        ),
        *(_queue_argument_key(spec) for spec in QUEUE_ARGUMENTS),
        Key("arguments", ARGUMENTS),
    ),
    read_yaml=read_queue_yaml,
    write_yaml=write_queue_yaml,
    read_definitions=read_queue_definitions,
    definition_keys=QUEUE_DEFINITION_KEYS,
    write_definitions=queue_definition,
    read_broker=read_queue_broker,
    api_put=put_queue,
    api_delete=delete_queue,
    check=check_queue,
    amqp=AmqpMethods(declare_queue, undeclare_queue),
)


# --- bindings ----------------------------------------------------------------------------------


def read_binding_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a binding", BINDING.key_names, ctx.problems)
    to_queue, to_exchange = f.text("to_queue"), f.text("to_exchange")
    if (to_queue is None) == (to_exchange is None):
        f.bad(
            "to_queue",
            "a binding needs exactly one of to_queue and to_exchange",
            "to_queue: NAME or to_exchange: NAME",
        )
    binding = assembled(
        Binding,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "source": f.text("from", required=True) or "",
            "destination": to_queue if to_queue is not None else (to_exchange or ""),
            "destination_type": "queue" if to_queue is not None else "exchange",
            "routing_key": f.text("routing_key", "") or "",
            "arguments": f.arguments("arguments"),
        },
    )
    renames = {
        "source": "from",
        "destination": "to_queue" if to_queue is not None else "to_exchange",
    }
    return binding, locator(item, renames)


def write_binding_yaml(b: Binding) -> dict[str, Any]:
    entry: dict[str, Any] = {"from": b.source, f"to_{b.destination_type}": b.destination}
    if b.routing_key:
        entry["routing_key"] = b.routing_key
    if b.arguments:
        entry["arguments"] = b.arguments
    return entry


def read_binding_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a binding", BINDING.definition_key_names, ctx.problems)
    binding = assembled(
        Binding,
        {
            "loc": item.loc,
            "vhost": ctx.vhost_of(f),
            "source": f.text("source", "") or "",
            "destination": f.text("destination", required=True) or "",
            "destination_type": f.text("destination_type", "queue") or "queue",
            "routing_key": f.text("routing_key", "") or "",
            "arguments": f.arguments("arguments"),
        },
    )
    return binding, locator(item)


def binding_definition(b: Binding) -> dict[str, Any]:
    return {
        "source": b.source,
        "vhost": b.vhost,
        "destination": b.destination,
        "destination_type": b.destination_type,
        "routing_key": b.routing_key,
        "arguments": b.arguments,
    }


def read_binding_broker(b: dict[str, Any]) -> Binding:
    return Binding(
        b["vhost"],
        b["source"],
        b["destination"],
        b.get("destination_type", "queue"),
        b.get("routing_key", ""),
        b.get("arguments") or {},
    )


def _ends(b: Binding) -> tuple[str, ...]:
    return ("bindings", b.vhost, "e", b.source, "q" if b.destination_type == "queue" else "e")


def put_binding(api: Api, b: Binding) -> None:
    body = {"routing_key": b.routing_key, "arguments": b.arguments}
    api.post(*_ends(b), b.destination, body=body)


def properties_key(api: Api, b: Binding) -> str | None:
    """The API's `properties_key` of a binding (routing key plus a hash of its arguments)."""
    try:
        listed = api.get(*_ends(b), b.destination)
    except BrokerError as exc:
        if exc.reply_code == 404:
            return None
        raise
    for item in listed:
        if item.get("routing_key") == b.routing_key and same_value(
            item.get("arguments") or {}, b.arguments
        ):
            return str(item["properties_key"])
    return None


def delete_binding(api: Api, b: Binding, _if_empty: bool) -> None:
    key = properties_key(api, b)
    if key is not None:
        api.delete(*_ends(b), b.destination, key)


def declare_binding(channel: Any, b: Binding, **extra: Any) -> None:
    if b.source == "":
        raise BrokerError("cannot bind to the default exchange")
    bind = channel.queue_bind if b.destination_type == "queue" else channel.exchange_bind
    bind(b.destination, b.source, b.routing_key, b.arguments or None, **extra)


def unbind(channel: Any, b: Binding, _if_empty: bool) -> None:
    method = channel.queue_unbind if b.destination_type == "queue" else channel.exchange_unbind
    method(b.destination, b.source, b.routing_key, b.arguments or None)


BINDING = Kind(
    model=Binding,
    description="A binding; exactly one of to_queue and to_exchange.",
    keys=(
        Key("vhost", VHOST),
        Key("from", {"type": "string", "description": "Source exchange."}, required=True),
        Key("to_queue", {"type": "string"}),
        Key("to_exchange", {"type": "string"}),
        Key("routing_key", {"type": "string", "default": ""}),
        Key("arguments", ARGUMENTS),
    ),
    read_yaml=read_binding_yaml,
    write_yaml=write_binding_yaml,
    read_definitions=read_binding_definitions,
    definition_keys=BINDING_DEFINITION_KEYS,
    write_definitions=binding_definition,
    read_broker=read_binding_broker,
    api_put=put_binding,
    api_delete=delete_binding,
    check=check_binding,
    amqp=AmqpMethods(declare_binding, unbind),
    schema_extra={"oneOf": [{"required": ["to_queue"]}, {"required": ["to_exchange"]}]},
)

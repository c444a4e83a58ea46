"""Users, their permissions in vhosts, and their topic permissions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mqctl.redact import register_secret
from mqctl.topology.fields import Fields
from mqctl.topology.kinds.base import (
    DEFINITION_LIMITS,
    DEFINITION_NAME,
    DEFINITION_VHOST,
    NAME,
    TAGS,
    TEXT,
    VHOST,
    Api,
    DefinitionFields,
    Key,
    Kind,
    Located,
    ReadContext,
    Where,
    int_map,
    limits_schema,
    locator,
    put_limits,
    read_limits,
    write_limits,
)
from mqctl.topology.loader import LMap, Problem
from mqctl.topology.model import Permission, TopicPermission, User

HASHING_ALGORITHMS = (
    "rabbit_password_hashing_sha256",
    "rabbit_password_hashing_sha512",
    "rabbit_password_hashing_md5",
)
USER_LIMITS = ("max_connections", "max_channels")
SECRETS = ("password", "password_env", "password_file", "password_hash")


# --- users -------------------------------------------------------------------------------------


# The keys of its entries in RabbitMQ's definitions JSON.
USER_DEFINITION_KEYS = (
    DEFINITION_NAME,
    Key("password_hash", TEXT),
    Key("hashing_algorithm", TEXT),
    Key("tags", TAGS),
    Key("limits", DEFINITION_LIMITS),
    Key("password", {"type": "string", "description": "A clear-text password (not exported)."}),
)

# The keys of its entries in RabbitMQ's definitions JSON.
PERMISSION_DEFINITION_KEYS = (
    Key("user", TEXT, required=True),
    DEFINITION_VHOST,
    Key("configure", TEXT),
    Key("write", TEXT),
    Key("read", TEXT),
)

# The keys of its entries in RabbitMQ's definitions JSON.
TOPIC_PERMISSION_DEFINITION_KEYS = (
    Key("user", TEXT, required=True),
    DEFINITION_VHOST,
    Key("exchange", TEXT),
    Key("write", TEXT),
    Key("read", TEXT),
)


def read_user_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a user", USER.key_names, ctx.problems)
    secrets = [key for key in SECRETS if f.has(key)]
    if len(secrets) > 1:
        f.bad(
            secrets[1],
            f"a user takes one secret, not {' and '.join(secrets)}",
            "one of " + ", ".join(secrets),
        )
    password: str | None = None
    if f.has("password_env"):
        var = f.text("password_env") or ""
        if var in ctx.env:
            password = ctx.env[var]
        else:
            f.bad(
                "password_env",
                f"environment variable {var} (the user's password) is not set",
                f"export {var}",
            )
    elif f.has("password_file"):
        path = Path(f.text("password_file") or "").expanduser()
        try:
            password = path.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            f.bad("password_file", f"cannot read the password file {path}: {exc.strerror}")
    elif f.has("password"):
        password = f.text("password")
    algorithm = f.text("hashing_algorithm")
    if algorithm is not None and algorithm not in HASHING_ALGORITHMS:
        f.bad(
            "hashing_algorithm",
            f"unknown hashing_algorithm {algorithm!r}",
            ", ".join(HASHING_ALGORITHMS),
        )
    if password is not None:
        register_secret(password)
    user = User(
        name=f.name(),
        tags=f.text_list("tags"),
        password=password,
        password_hash=f.text("password_hash"),
        hashing_algorithm=algorithm,
        limits=read_limits(f, USER_LIMITS),
        loc=item.loc,
    )
    return user, locator(item)


def write_user_yaml(u: User) -> dict[str, Any]:
    user: dict[str, Any] = {"name": u.name, "tags": list(u.tags)}
    if u.password_hash is not None:
        user["password_hash"] = u.password_hash
        user["hashing_algorithm"] = u.hashing_algorithm or HASHING_ALGORITHMS[0]
    if u.limits:
        user["limits"] = write_limits(u.limits)
    return user


def read_user_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a user", USER.definition_key_names, ctx.problems)
    password = f.text("password")
    if password is not None:
        register_secret(password)
    user = User(
        name=f.name(),
        tags=f.text_list("tags"),
        password=password,
        password_hash=f.text("password_hash"),
        hashing_algorithm=f.text("hashing_algorithm"),
        limits=int_map(f, "limits"),
        loc=item.loc,
    )
    return user, locator(item)


def write_user_definitions(u: User) -> dict[str, Any]:
    return {
        "name": u.name,
        "password_hash": u.password_hash or "",
        "hashing_algorithm": u.hashing_algorithm or HASHING_ALGORITHMS[0],
        "tags": list(u.tags),
        **({"limits": u.limits} if u.limits is not None else {}),
    }


def read_user_broker(u: dict[str, Any]) -> User:
    tags = u.get("tags") or ()
    return User(
        name=u["name"],
        tags=tuple(tags.split(",") if isinstance(tags, str) else tags),
        password_hash=u.get("password_hash"),
        hashing_algorithm=u.get("hashing_algorithm"),
        limits=dict(u.get("limits") or {}),
    )


def put_user(api: Api, u: User) -> None:
    body = {"tags": ",".join(u.tags)}
    if u.password is not None:
        body["password"] = u.password
    elif u.password_hash is not None:
        body["password_hash"] = u.password_hash
        if u.hashing_algorithm:
            body["hashing_algorithm"] = u.hashing_algorithm
    else:
        body["password_hash"] = ""  # no password: certificate / external auth only
    api.put("users", u.name, body=body)
    if u.limits is not None:
        put_limits(api, "user-limits", u.name, u.limits)


def delete_user(api: Api, u: User, _if_empty: bool) -> None:
    api.delete("users", u.name)


USER = Kind(
    model=User,
    description="A user; one secret at most, never printed.",
    keys=(
        Key("name", NAME, required=True),
        Key("tags", TAGS),
        Key(
            "password_env",
            {"type": "string", "description": "Environment variable holding the password."},
        ),
        Key("password_file", {"type": "string", "description": "File holding the password."}),
        Key("password_hash", {"type": "string"}),
        Key("hashing_algorithm", {"enum": list(HASHING_ALGORITHMS)}),
        Key(
            "password",
            {
                "type": "string",
                "description": "Inline password: prefer password_env or password_file.",
            },
        ),
        Key("limits", limits_schema(USER_LIMITS)),
    ),
    read_yaml=read_user_yaml,
    write_yaml=write_user_yaml,
    read_definitions=read_user_definitions,
    definition_keys=USER_DEFINITION_KEYS,
    write_definitions=write_user_definitions,
    read_broker=read_user_broker,
    api_put=put_user,
    api_delete=delete_user,
)


# --- permissions -------------------------------------------------------------------------------


def read_permission_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a permission", PERMISSION.key_names, ctx.problems)
    perm = Permission(
        user=f.text("user", required=True) or "",
        vhost=ctx.vhost_of(f),
        configure=f.text("configure", ".*") or "",
        write=f.text("write", ".*") or "",
        read=f.text("read", ".*") or "",
        loc=item.loc,
    )
    return perm, locator(item)


def write_permission_yaml(p: Permission) -> dict[str, Any]:
    return {"user": p.user, "configure": p.configure, "write": p.write, "read": p.read}


def read_permission_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(item, "a permission", PERMISSION.definition_key_names, ctx.problems)
    perm = Permission(
        user=f.text("user", required=True) or "",
        vhost=ctx.vhost_of(f),
        configure=f.text("configure", "") or "",
        write=f.text("write", "") or "",
        read=f.text("read", "") or "",
        loc=item.loc,
    )
    return perm, locator(item)


def write_permission_definitions(p: Permission) -> dict[str, Any]:
    return {
        "user": p.user,
        "vhost": p.vhost,
        "configure": p.configure,
        "write": p.write,
        "read": p.read,
    }


def read_permission_broker(p: dict[str, Any]) -> Permission:
    return Permission(p["user"], p["vhost"], p["configure"], p["write"], p["read"])


def put_permission(api: Api, p: Permission) -> None:
    api.put("permissions", p.vhost, p.user, body=p.fields())


def delete_permission(api: Api, p: Permission, _if_empty: bool) -> None:
    api.delete("permissions", p.vhost, p.user)


def check_permission(p: Permission, where: Where) -> list[Problem]:
    """The three patterns are regular expressions: the broker refuses one that is not."""
    problems = []
    for name in ("configure", "write", "read"):
        pattern = getattr(p, name)
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(
                Problem(where(name), f"{name} {pattern!r} is not a regular expression: {exc}")
            )
    return problems


PERMISSION = Kind(
    model=Permission,
    description="A user's permissions in a vhost (regular expressions).",
    keys=(
        Key("user", NAME, required=True),
        Key("vhost", VHOST),
        Key("configure", {"type": "string", "default": ".*"}),
        Key("write", {"type": "string", "default": ".*"}),
        Key("read", {"type": "string", "default": ".*"}),
    ),
    read_yaml=read_permission_yaml,
    write_yaml=write_permission_yaml,
    read_definitions=read_permission_definitions,
    definition_keys=PERMISSION_DEFINITION_KEYS,
    write_definitions=write_permission_definitions,
    read_broker=read_permission_broker,
    api_put=put_permission,
    api_delete=delete_permission,
    check=check_permission,
)


# --- topic permissions -------------------------------------------------------------------------


def read_topic_permission_yaml(item: LMap, ctx: ReadContext) -> Located:
    f = Fields(item, "a topic permission", TOPIC_PERMISSION.key_names, ctx.problems)
    perm = TopicPermission(
        user=f.text("user", required=True) or "",
        vhost=ctx.vhost_of(f),
        exchange=f.text("exchange", required=True) or "",
        write=f.text("write", ".*") or "",
        read=f.text("read", ".*") or "",
        loc=item.loc,
    )
    return perm, locator(item)


def write_topic_permission_yaml(p: TopicPermission) -> dict[str, Any]:
    return {"user": p.user, "exchange": p.exchange, "write": p.write, "read": p.read}


def read_topic_permission_definitions(item: LMap, ctx: ReadContext) -> Located:
    f = DefinitionFields(
        item, "a topic permission", TOPIC_PERMISSION.definition_key_names, ctx.problems
    )
    perm = TopicPermission(
        user=f.text("user", required=True) or "",
        vhost=ctx.vhost_of(f),
        exchange=f.text("exchange", "") or "",
        write=f.text("write", "") or "",
        read=f.text("read", "") or "",
        loc=item.loc,
    )
    return perm, locator(item)


def write_topic_permission_definitions(p: TopicPermission) -> dict[str, Any]:
    return {
        "user": p.user,
        "vhost": p.vhost,
        "exchange": p.exchange,
        "write": p.write,
        "read": p.read,
    }


def read_topic_permission_broker(p: dict[str, Any]) -> TopicPermission:
    return TopicPermission(p["user"], p["vhost"], p["exchange"], p["write"], p["read"])


def put_topic_permission(api: Api, p: TopicPermission) -> None:
    api.put("topic-permissions", p.vhost, p.user, body={"exchange": p.exchange, **p.fields()})


def delete_topic_permission(api: Api, p: TopicPermission, _if_empty: bool) -> None:
    api.delete("topic-permissions", p.vhost, p.user)


TOPIC_PERMISSION = Kind(
    model=TopicPermission,
    description="Topic permissions.",
    keys=(
        Key("user", NAME, required=True),
        Key("vhost", VHOST),
        Key("exchange", {"type": "string"}, required=True),
        Key("write", {"type": "string", "default": ".*"}),
        Key("read", {"type": "string", "default": ".*"}),
    ),
    read_yaml=read_topic_permission_yaml,
    write_yaml=write_topic_permission_yaml,
    read_definitions=read_topic_permission_definitions,
    definition_keys=TOPIC_PERMISSION_DEFINITION_KEYS,
    write_definitions=write_topic_permission_definitions,
    read_broker=read_topic_permission_broker,
    api_put=put_topic_permission,
    api_delete=delete_topic_permission,
)

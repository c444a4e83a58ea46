"""Connection settings: one resolver, one precedence (flag > environment > profile > default).

`resolve()` turns the raw options a command was given into a `ConnectionSettings` that both
transports (pika for AMQP, requests for the management API) read. Passwords are registered with
`mqctl.redact` as soon as they are known and are kept out of every repr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mqctl.errors import ConfigError
from mqctl.redact import (
    redact_url,
    register_public,
    register_secret,
    split_userinfo,
    userinfo_is_ambiguous,
)

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2f"
AMQP_PORTS = {"amqp": 5672, "amqps": 5671}
API_PORTS = {"amqp": ("http", 15672), "amqps": ("https", 15671)}
# What pika accepts for each (frame sizes per the AMQP spec's minimum and pika's maximum).
URL_QUERY_RANGES: dict[str, tuple[float, float]] = {
    "heartbeat": (0, 65535),
    "connection_timeout": (0.001, 86400),
    "frame_max": (4096, 131072),
    "channel_max": (1, 65535),
}
URL_QUERY_KEYS = set(URL_QUERY_RANGES)

# Environment variables, by option name; flags win over them, they win over the profile.
ENV = {
    "url": "MQCTL_URL",
    "api": "MQCTL_API",
    "vhost": "MQCTL_VHOST",
    "profile": "MQCTL_PROFILE",
    "ca_cert": "MQCTL_CA_CERT",
    "client_cert": "MQCTL_CLIENT_CERT",
    "client_key": "MQCTL_CLIENT_KEY",
    "insecure": "MQCTL_INSECURE",
}
PROFILE_KEYS = {
    "url",
    "api",
    "vhost",
    "username",
    "password",
    "password_env",
    "password_file",
    "ca_cert",
    "client_cert",
    "client_key",
    "insecure",
}


@dataclass(frozen=True)
class ConnectionOptions:
    """What the user typed: every field None when not given on the command line."""

    # One node, or several of a cluster (`--url` given several times): the first that answers.
    url: str | Sequence[str] | None = None
    api: str | Sequence[str] | None = None
    vhost: str | None = None
    profile: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure: bool | None = None


@dataclass(frozen=True)
class TlsSettings:
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    insecure: bool = False  # verification is on unless the user turns it off explicitly


@dataclass(frozen=True)
class ConnectionSettings:
    scheme: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    vhost: str
    api_url: str  # base URL of the management API, without credentials
    api_username: str
    api_password: str = field(repr=False)
    tls: TlsSettings = TlsSettings()
    heartbeat: int | None = None
    connection_timeout: float = 10.0
    frame_max: int | None = None
    channel_max: int | None = None

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "amqps"

    @property
    def display_url(self) -> str:
        """The AMQP URL without a password: safe for any output."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = quote(self.username, safe="")
        return f"{self.scheme}://{user}@{host}:{self.port}/{quote(self.vhost, safe='')}"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("MQCTL_CONFIG"):
        return Path(env["MQCTL_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "mqctl" / "config.yaml"


def resolve(
    options: ConnectionOptions,
    env: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """Combine flags, environment, profile and defaults into settings, validating each value.

    Several nodes (`--url` given several times, or a profile's list of urls) resolve to the first
    whose AMQP port answers; each node's API is the `--api` given in the same place, or, with no
    `--api`, http://HOST:15672 (https://HOST:15671 for amqps) of that node.
    """
    from mqctl.nodes import first_answering

    return first_answering(resolve_nodes(options, env))


def resolve_nodes(
    options: ConnectionOptions,
    env: Mapping[str, str] | None = None,
) -> list[ConnectionSettings]:
    """Every node given, each resolved as `resolve()` does, in the order given: one for one URL.

    A command that may continue on another node when its node goes away keeps the whole list.
    """
    env = os.environ if env is None else env
    urls, apis = _nodes(options, env)
    if len(urls) <= 1 and len(apis) <= 1:
        one = options
        if not isinstance(options.url, str | None):  # a list of one
            one = replace(one, url=urls[0] if urls else None)
        if not isinstance(options.api, str | None):
            one = replace(one, api=apis[0] if apis else None)
        return [_resolve_one(one, env)]
    if apis and len(apis) != len(urls):
        raise ConfigError(
            f"{len(apis)} management API URLs for {len(urls)} nodes",
            "give --api once per --url, in the same order, or not at all (each node's API is "
            "then http://HOST:15672)",
        )
    # "" for the API: derived from each node's own URL, never from the environment or profile.
    return [
        _resolve_one(replace(options, url=url, api=apis[i] if apis else ""), env)
        for i, url in enumerate(urls)
    ]


def _nodes(options: ConnectionOptions, env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The URLs and API URLs given (flag > environment > profile), each as a list."""
    profile = _load_profile(options.profile or env.get(ENV["profile"]), env)

    def listed(name: str) -> list[str]:
        value = getattr(options, name)
        if value is None and env.get(ENV[name]):
            value = env[ENV[name]]
        if value is None:
            value = profile.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, Sequence):
            return [str(item) for item in value]
        return [str(value)]

    return listed("url"), listed("api")


def _resolve_one(options: ConnectionOptions, env: Mapping[str, str]) -> ConnectionSettings:
    profile = _load_profile(options.profile or env.get(ENV["profile"]), env)

    def pick_from(name: str) -> tuple[Any, str]:
        """The value of a setting and where it came from, for messages that name it."""
        flag = getattr(options, name)
        if flag is not None:
            return flag, f"--{name.replace('_', '-')}"
        if env.get(ENV[name]):
            return env[ENV[name]], ENV[name]
        return profile.get(name), f"the profile's {name}"

    def pick(name: str) -> Any:
        return pick_from(name)[0]

    if isinstance(options.url, str):
        url, source = options.url, "--url"
    elif env.get(ENV["url"]):
        url, source = env[ENV["url"]], ENV["url"]
    elif profile.get("url"):
        listed = profile["url"]
        url = str(listed[0] if isinstance(listed, list) and listed else listed)
        source = "the profile"
    else:
        url, source = DEFAULT_URL, "the default"
    parsed = _parse_amqp_url(url, source)

    username = parsed.username if parsed.username is not None else profile.get("username", "guest")
    password = parsed.password
    if password is None:
        password = _profile_password(profile, env) or ("guest" if username == "guest" else "")
    register_secret(password)
    register_public(username)

    vhost = _plain_vhost(pick("vhost")) or parsed.vhost
    tls = TlsSettings(
        ca_cert=_existing_file(pick("ca_cert"), "--ca-cert"),
        client_cert=_existing_file(pick("client_cert"), "--client-cert"),
        client_key=_existing_file(pick("client_key"), "--client-key"),
        insecure=_truthy(*pick_from("insecure")),
    )
    if tls.client_key and not tls.client_cert:
        raise ConfigError("--client-key was given without --client-cert", "give both, or neither")

    api = pick("api")
    if isinstance(api, list):  # a profile's list of one
        api = str(api[0]) if api else None
    api_url, api_user, api_password = _api_endpoint(api, parsed.scheme, parsed.host)
    if api_password is not None:
        register_secret(api_password)
    register_public(api_user)
    return ConnectionSettings(
        scheme=parsed.scheme,
        host=parsed.host,
        port=parsed.port,
        username=username,
        password=password,
        vhost=vhost,
        api_url=api_url,
        api_username=api_user if api_user is not None else username,
        api_password=api_password if api_password is not None else password,
        tls=tls,
        **parsed.query,
    )


@dataclass(frozen=True)
class _ParsedUrl:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    vhost: str
    query: dict[str, Any]


def _parse_amqp_url(url: str, source: str) -> _ParsedUrl:
    shown = redact_url(url)
    _check_userinfo(url, f"malformed AMQP URL {shown!r} from {source}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"malformed AMQP URL {shown!r} from {source}: {exc}",
            "use amqp://USER:PASSWORD@HOST:PORT/VHOST",
        ) from None
    if parts.scheme not in AMQP_PORTS:
        raise ConfigError(
            f"unsupported URL scheme {parts.scheme + '://' if parts.scheme else 'none'} "
            f"in {shown!r} from {source}",
            "use amqp:// or amqps://",
        )
    if not parts.hostname:
        raise ConfigError(
            f"no host in AMQP URL {shown!r} from {source}",
            "use amqp://USER:PASSWORD@HOST:PORT/VHOST",
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if "/" in path:
        raise ConfigError(
            f"the vhost in {shown!r} has an unencoded '/'",
            "encode it as %2f (the default vhost is /%2f)",
        )
    vhost = unquote(path) if path else "/"
    return _ParsedUrl(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or AMQP_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        vhost=vhost,
        query=_parse_query(parts.query, shown),
    )


# The characters that break a URL's user info, as they must be written instead.
PERCENT_HINT = (
    "percent-encode special characters in the user name and password: "
    "/ as %2F, ? as %3F, # as %23, % as %25, @ as %40, space as %20"
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _check_userinfo(url: str, what: str) -> None:
    """Register the password a URL carries, then refuse a user info that cannot be read for sure.

    Runs before any other parsing, on the raw text, so that the password is masked in every message
    about the URL even when a character in it breaks the URL apart.
    """
    _, userinfo, _ = split_userinfo(url)
    if userinfo is None:
        return
    raw_password = userinfo.partition(":")[2]
    register_secret(raw_password)
    register_secret(unquote(raw_password))
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        raise ConfigError(f"{what}: it holds a control character", "remove it from the URL")
    if userinfo_is_ambiguous(userinfo):
        raise ConfigError(
            f"{what}: a '/', '?' or '#' stands before the last '@', so where the password "
            "ends is unclear",
            PERCENT_HINT,
        )
    if _BAD_ESCAPE.search(userinfo):
        raise ConfigError(
            f"{what}: a '%' in the user name or password starts no percent-escape (%XX)",
            PERCENT_HINT,
        )
    try:
        unquote(userinfo, errors="strict")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{what}: the percent-escapes in the user name or password are not UTF-8",
            PERCENT_HINT,
        ) from None


def _parse_query(query: str, shown: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key not in URL_QUERY_KEYS:
            raise ConfigError(
                f"unknown URL parameter {key!r} in {shown!r}",
                f"supported: {', '.join(sorted(URL_QUERY_KEYS))}",
            )
        try:
            number = float(value) if key == "connection_timeout" else int(value)
        except ValueError:
            raise ConfigError(
                f"URL parameter {key}={value!r} in {shown!r} is not a number", "give a number"
            ) from None
        low, high = URL_QUERY_RANGES[key]
        if not low <= number <= high:
            raise ConfigError(
                f"URL parameter {key}={value} in {shown!r} is out of range",
                f"give {key} from {low:g} to {high:g}",
            )
        result[key] = number
    return result


def _api_endpoint(api: str | None, scheme: str, host: str) -> tuple[str, str | None, str | None]:
    """The management API base URL (credentials removed) and any credentials it carried."""
    if not api:
        api_scheme, port = API_PORTS[scheme]
        shown_host = f"[{host}]" if ":" in host else host
        return f"{api_scheme}://{shown_host}:{port}", None, None
    shown = redact_url(api)
    _check_userinfo(api, f"malformed management API URL {shown!r}")
    try:
        parts = urlsplit(api)
        _ = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"malformed management API URL {shown!r}: {exc}", "use http(s)://HOST:PORT"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"malformed management API URL {shown!r}", "use http://HOST:15672 or https://HOST:15671"
        )
    hostport = parts.netloc.rpartition("@")[2]
    path = parts.path.rstrip("/")
    # The form people copy ends in /api: mqctl adds that itself, so it is taken off.
    path = path.removesuffix("/api")
    base = f"{parts.scheme}://{hostport}{path}"
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return base, user, password


def _load_profile(name: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = config_path(env)
    if not path.exists():
        if name:
            raise ConfigError(
                f"unknown profile {name!r}: there is no profile file at {path}",
                "create it (see README, 'Profiles') or drop --profile/MQCTL_PROFILE",
            )
        return {}
    import yaml  # only when a profile file exists: most runs never read one

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"profile file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line "
            f"{line})",
            "save it as UTF-8, or set MQCTL_CONFIG to another file",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read profile file {path}: {exc.strerror or exc}",
            "fix its permissions or set MQCTL_CONFIG to another file",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(
            f"profile file {path}{where} is not valid YAML", "fix the file's syntax"
        ) from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        raise ConfigError(
            f"profile file {path} has no 'profiles' mapping",
            "write profiles: {NAME: {url: ...}} (see README, 'Profiles')",
        )
    name = name or data.get("default")
    if not name:
        return {}
    if name not in profiles:
        known = ", ".join(sorted(map(str, profiles))) or "none"
        raise ConfigError(f"unknown profile {name!r} in {path}", f"known profiles: {known}")
    profile = profiles[name] or {}
    if not isinstance(profile, dict):
        raise ConfigError(f"profile {name!r} in {path} is not a mapping", "give it keys like url:")
    unknown = set(profile) - PROFILE_KEYS
    if unknown:
        raise ConfigError(
            f"profile {name!r} in {path} has unknown keys: {', '.join(sorted(map(str, unknown)))}",
            f"allowed: {', '.join(sorted(PROFILE_KEYS))}",
        )
    if isinstance(profile.get("password"), str):
        register_secret(profile["password"])
    _refuse_two_passwords(profile, f"profile {name!r} in {path}")
    return profile


_PASSWORD_KEYS = ("password", "password_env", "password_file")


def _refuse_two_passwords(profile: Mapping[str, Any], what: str) -> None:
    """A profile names its password one way: with two, which one wins would be a guess."""
    given = [f"{key}:" for key in _PASSWORD_KEYS if profile.get(key) is not None]
    _, userinfo, _ = split_userinfo(str(profile.get("url") or ""))
    if userinfo is not None and ":" in userinfo:
        given.insert(0, "a password in its url")
    if len(given) > 1:
        raise ConfigError(
            f"{what} gives its password {len(given)} ways: {' and '.join(given)}",
            "keep one of them",
        )


def _profile_password(profile: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    if profile.get("password_env"):
        var = str(profile["password_env"])
        if var not in env:
            raise ConfigError(
                f"the profile takes its password from ${var}, which is not set", f"export {var}"
            )
        return env[var]
    if profile.get("password_file"):
        path = Path(str(profile["password_file"])).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the profile's password_file {path}: {exc.strerror}",
                "fix the path or its permissions",
            ) from None
    password = profile.get("password")
    return str(password) if password is not None else None


def _existing_file(value: Any, option: str) -> Path | None:
    if value is None or value == "":
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ConfigError(f"{option}: no such file {path}", "give the path of a PEM file")
    return path


def _truthy(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(
        f"{source}: cannot read {value!r} as true or false",
        "use true or false (1/0, yes/no, on/off)",
    )


def _plain_vhost(value: Any) -> str | None:
    """`--vhost` takes the plain name; '%2f', the URL's way of writing '/', is read as '/' too."""
    if value is None or value == "":
        return None
    text = str(value)
    return "/" if text.lower() == "%2f" else text

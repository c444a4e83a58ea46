"""Connection settings: URL parsing, precedence (flag > env > profile > default), profiles, TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqctl.config import ConnectionOptions, resolve
from mqctl.errors import ConfigError, ExitStatus


def write_profiles(config_home: Path, text: str) -> Path:
    path = config_home / "mqctl" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(clean_env: Path) -> None:
    s = resolve(ConnectionOptions())
    assert (s.scheme, s.host, s.port, s.vhost) == ("amqp", "localhost", 5672, "/")
    assert (s.username, s.password) == ("guest", "guest")
    assert s.api_url == "http://localhost:15672"
    assert s.tls.insecure is False


def test_amqps_derives_https_api_and_port(clean_env: Path) -> None:
    s = resolve(ConnectionOptions(url="amqps://u:p@rabbit.example.com/prod"))
    assert (s.port, s.vhost, s.api_url) == (5671, "prod", "https://rabbit.example.com:15671")
    assert s.uses_tls


@pytest.mark.parametrize(
    ("url", "vhost"),
    [
        ("amqp://h", "/"),
        ("amqp://h/", "/"),
        ("amqp://h/%2f", "/"),
        ("amqp://h/%2F", "/"),
        ("amqp://h/a%2Fb", "a/b"),
        ("amqp://h/sp%20ace%25", "sp ace%"),
        ("amqp://h/%C3%BC", "ü"),
    ],
)
def test_vhost_from_url_path(clean_env: Path, url: str, vhost: str) -> None:
    assert resolve(ConnectionOptions(url=url)).vhost == vhost


def test_percent_encoded_credentials_and_ipv6(clean_env: Path) -> None:
    s = resolve(ConnectionOptions(url="amqp://us%40er:p%3Ass@[::1]:5673/v"))
    assert (s.username, s.password, s.host, s.port) == ("us@er", "p:ss", "::1", 5673)
    assert s.api_url == "http://[::1]:15672"
    assert s.display_url == "amqp://us%40er@[::1]:5673/v"


def test_url_query_parameters(clean_env: Path) -> None:
    s = resolve(ConnectionOptions(url="amqp://h/%2f?heartbeat=30&connection_timeout=2.5"))
    assert (s.heartbeat, s.connection_timeout) == (30, 2.5)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://h:1/x",
            "unsupported URL scheme http:// in 'http://h:1/x' from --url; use amqp:// or amqps://",
        ),
        (
            "amqp://",
            "no host in AMQP URL 'amqp://' from --url; use amqp://USER:PASSWORD@HOST:PORT/VHOST",
        ),
        (
            "amqp://h:notaport/",
            "malformed AMQP URL 'amqp://h:notaport/' from --url: Port could not be cast to "
            "integer value as 'notaport'; use amqp://USER:PASSWORD@HOST:PORT/VHOST",
        ),
        (
            "amqp://h/a/b",
            "the vhost in 'amqp://h/a/b' has an unencoded '/'; encode it as %2f (the default vhost is /%2f)",
        ),
        (
            "amqp://h/?color=red",
            "unknown URL parameter 'color' in 'amqp://h/?color=red'; "
            "supported: channel_max, connection_timeout, frame_max, heartbeat",
        ),
        (
            "amqp://h/?heartbeat=x",
            "URL parameter heartbeat='x' in 'amqp://h/?heartbeat=x' is not a number; give a number",
        ),
        (
            "amqp://h/?channel_max=0",
            "URL parameter channel_max=0 in 'amqp://h/?channel_max=0' is out of range; "
            "give channel_max from 1 to 65535",
        ),
        (
            "amqp://h/?frame_max=100",
            "URL parameter frame_max=100 in 'amqp://h/?frame_max=100' is out of range; "
            "give frame_max from 4096 to 131072",
        ),
    ],
)
def test_malformed_urls(clean_env: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions(url=url))
    assert str(info.value) == message
    assert info.value.exit_status == ExitStatus.BAD_INPUT


def test_malformed_url_never_shows_its_password(clean_env: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions(url="amqp://me:Sup3rS3cret@h:port/"))
    assert "Sup3rS3cret" not in str(info.value)
    assert "me:****@h:port" in str(info.value)


def test_precedence_flag_over_env_over_profile(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profiles(
        clean_env,
        "profiles:\n  p:\n    url: amqp://prof:pw@profhost/pv\n    api: http://profapi:1\n    vhost: pvh\n",
    )
    monkeypatch.setenv("MQCTL_PROFILE", "p")
    s = resolve(ConnectionOptions())
    assert (s.host, s.vhost, s.api_url) == ("profhost", "pvh", "http://profapi:1")

    monkeypatch.setenv("MQCTL_URL", "amqp://env:pw@envhost/ev")
    monkeypatch.setenv("MQCTL_VHOST", "envvh")
    s = resolve(ConnectionOptions())
    assert (s.host, s.vhost, s.api_url) == ("envhost", "envvh", "http://profapi:1")

    s = resolve(
        ConnectionOptions(url="amqp://f:pw@flaghost/fv", vhost="flagvh", api="http://flagapi:2")
    )
    assert (s.host, s.vhost, s.api_url) == ("flaghost", "flagvh", "http://flagapi:2")


def test_profile_default_and_password_sources(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    write_profiles(
        clean_env,
        "default: a\nprofiles:\n"
        "  a:\n    url: amqp://alice@h/%2f\n    password_env: A_PASS\n"
        f"  b:\n    url: amqp://bob@h/%2f\n    password_file: {secret_file}\n",
    )
    monkeypatch.setenv("A_PASS", "from-env")
    assert resolve(ConnectionOptions()).password == "from-env"
    assert resolve(ConnectionOptions(profile="b")).password == "from-file"


def test_api_url_credentials_override(clean_env: Path) -> None:
    s = resolve(ConnectionOptions(url="amqp://u:p@h/%2f", api="https://admin:apw@mgmt:443/rabbit/"))
    assert (s.api_url, s.api_username, s.api_password) == (
        "https://mgmt:443/rabbit",
        "admin",
        "apw",
    )
    assert (s.username, s.password) == ("u", "p")


def test_password_is_not_in_repr(clean_env: Path) -> None:
    s = resolve(ConnectionOptions(url="amqp://u:VerySecret1@h/%2f"))
    assert "VerySecret1" not in repr(s)


def test_unknown_profile(clean_env: Path) -> None:
    path = write_profiles(clean_env, "profiles:\n  a: {url: 'amqp://h'}\n  b: {url: 'amqp://h'}\n")
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions(profile="c"))
    assert str(info.value) == f"unknown profile 'c' in {path}; known profiles: a, b"


def test_unknown_profile_without_file(clean_env: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions(profile="c"))
    path = clean_env / "mqctl" / "config.yaml"
    assert str(info.value) == (
        f"unknown profile 'c': there is no profile file at {path}; "
        "create it (see README, 'Profiles') or drop --profile/MQCTL_PROFILE"
    )


def test_malformed_profile_file(clean_env: Path) -> None:
    path = write_profiles(clean_env, "profiles:\n  a: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions())
    assert str(info.value).startswith(f"profile file {path}:")
    assert str(info.value).endswith("is not valid YAML; fix the file's syntax")


def test_unreadable_profile_file(clean_env: Path) -> None:
    path = clean_env / "mqctl" / "config.yaml"
    path.mkdir(parents=True)  # a directory cannot be read as a file, even by root
    with pytest.raises(ConfigError) as info:
        resolve(ConnectionOptions())
    assert str(info.value) == (
        f"cannot read profile file {path}: Is a directory; "
        "fix its permissions or set MQCTL_CONFIG to another file"
    )


def test_profile_with_unknown_key(clean_env: Path) -> None:
    write_profiles(clean_env, "profiles:\n  a: {url: 'amqp://h', pasword: x}\n")
    with pytest.raises(ConfigError, match="unknown keys: pasword"):
        resolve(ConnectionOptions(profile="a"))


def test_tls_files_must_exist_and_key_needs_cert(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--ca-cert: no such file"):
        resolve(ConnectionOptions(ca_cert=str(tmp_path / "missing.pem")))
    key = tmp_path / "key.pem"
    key.write_text("x")
    with pytest.raises(ConfigError, match="--client-key was given without --client-cert"):
        resolve(ConnectionOptions(client_key=str(key)))


def test_insecure_from_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQCTL_INSECURE", "true")
    assert resolve(ConnectionOptions()).tls.insecure is True
    monkeypatch.setenv("MQCTL_INSECURE", "maybe")
    with pytest.raises(ConfigError, match="cannot read 'maybe' as true or false"):
        resolve(ConnectionOptions())

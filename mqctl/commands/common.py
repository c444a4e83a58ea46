"""What every command shares: the connection options, `--debug`, and reading them back.

Connection options are declared once here and attached to each command by its class
(`@app.command(cls=ConnectedCommand)`), so every command takes `--url`, `--api`, `--vhost`,
`--profile` and the TLS flags in the same way; they are also accepted before the command
(`mqctl --url ... publish ...`), the command's own taking precedence.
"""

from __future__ import annotations

from typing import Any

import click
from typer.core import TyperCommand, TyperGroup, TyperOption

from mqctl.config import ConnectionOptions, ConnectionSettings, resolve
from mqctl.errors import BadInput

CONNECTION_PANEL = "Connection"
_META_KEY = "mqctl.connection"


def connection_params() -> list[click.Parameter]:
    """Fresh click parameters for the shared connection options (one set per command)."""

    def opt(decl: str, help: str, **kwargs: Any) -> TyperOption:
        return TyperOption(
            param_decls=[decl], help=help, rich_help_panel=CONNECTION_PANEL, **kwargs
        )

    return [
        opt(
            "--url",
            "AMQP URI, amqp:// or amqps://, vhost in the path (%2f for /). "
            "\\[env: MQCTL_URL] \\[default: amqp://guest:guest@localhost:5672/%2f]",
            metavar="URL",
        ),
        opt(
            "--api",
            "Management API base URL. \\[env: MQCTL_API] "
            "\\[default: http://HOST:15672, https://HOST:15671 for amqps]",
            metavar="URL",
        ),
        opt(
            "--vhost",
            "Virtual host; overrides the URL's. \\[env: MQCTL_VHOST]",
            metavar="VHOST",
            multiple=True,
        ),
        opt(
            "--profile",
            "Named profile from $XDG_CONFIG_HOME/mqctl/config.yaml. \\[env: MQCTL_PROFILE]",
            metavar="NAME",
        ),
        opt("--ca-cert", "CA bundle (PEM) to verify the broker. \\[env: MQCTL_CA_CERT]", metavar="FILE"),
        opt("--client-cert", "Client certificate (PEM). \\[env: MQCTL_CLIENT_CERT]", metavar="FILE"),
        opt("--client-key", "Client private key (PEM). \\[env: MQCTL_CLIENT_KEY]", metavar="FILE"),
        opt(
            "--insecure",
            "Do not verify the broker's TLS certificate. \\[env: MQCTL_INSECURE]",
            is_flag=True,
            default=None,
        ),
    ]


def debug_param() -> click.Parameter:
    return TyperOption(
        param_decls=["--debug"],
        help="Show the traceback when something fails.",
        is_flag=True,
        default=False,
        expose_value=False,
    )


_NAMES = ("url", "api", "vhost", "profile", "ca_cert", "client_cert", "client_key", "insecure")


def _stash(ctx: click.Context, level: str) -> None:
    given = {name: ctx.params.pop(name, None) for name in _NAMES}
    given["vhost"] = tuple(given["vhost"] or ())
    ctx.meta.setdefault(_META_KEY, {})[level] = given


class ConnectedGroup(TyperGroup):
    """The root group: takes the connection options before the command name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend([*connection_params(), debug_param()])

    def invoke(self, ctx: click.Context) -> Any:
        _stash(ctx, "group")
        return super().invoke(ctx)


class PlainCommand(TyperCommand):
    """A command that needs no broker: only `--debug` is added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(debug_param())


class ConnectedCommand(TyperCommand):
    """A command that talks to a broker: takes the shared connection options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend([*connection_params(), debug_param()])

    def invoke(self, ctx: click.Context) -> Any:
        _stash(ctx, "command")
        return super().invoke(ctx)


def given_options(ctx: click.Context | None = None) -> dict[str, Any]:
    """The connection options typed on the line, the command's over the group's."""
    ctx = ctx or click.get_current_context()
    levels = ctx.meta.get(_META_KEY, {})
    merged: dict[str, Any] = {name: None for name in _NAMES}
    merged["vhost"] = ()
    for level in ("group", "command"):
        for name, value in levels.get(level, {}).items():
            if value not in (None, ()):
                merged[name] = value
    return merged


def selected_vhosts(ctx: click.Context | None = None) -> tuple[str, ...]:
    """Every `--vhost` given (for commands such as `topology export` that take several)."""
    return tuple(given_options(ctx)["vhost"])


def connection_settings(ctx: click.Context | None = None) -> ConnectionSettings:
    """Resolve the connection options of the running command (flag > env > profile > default)."""
    given = given_options(ctx)
    vhosts = given.pop("vhost")
    if len(vhosts) > 1:
        raise BadInput(
            f"--vhost given {len(vhosts)} times; this command works on one vhost",
            "give --vhost once",
        )
    return resolve(ConnectionOptions(vhost=vhosts[0] if vhosts else None, **given))

"""Option sets: groups of options declared once and taken by many commands.

An option set is a frozen dataclass whose fields carry `Annotated[T, typer.Option(...)]` and a
default. A command names the set as one typed parameter and is decorated with `@option_sets`
(below `@app.command`):

    @app.command("get")
    @option_sets
    def get_command(connection: ConnectionFlags, queue: Annotated[str, typer.Option()]) -> None:
        settings = connection.settings()

The decorator shows typer each field of the set as one of the command's own options (through the
function's `__signature__`, which typer reads with `inspect.signature`), gathers their values back
into the dataclass, and adds `--debug` to every command. So the options stay declared once, each
command's signature still says which sets it takes, and typer sees plain parameters: only its
public API is used.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

import typer

if typing.TYPE_CHECKING:
    from mqctl.config import ConnectionOptions, ConnectionSettings, TlsSettings
    from mqctl.messaging.failover import Failover

R = TypeVar("R")
S = TypeVar("S", bound="OptionSet")

# The parameter through which typer hands the decorated command its context.
CONTEXT_PARAM = "mqctl_context"


def was_given(value: object) -> bool:
    """Whether an option's value came from the line (a flag that was not given is False)."""
    return not (value is None or value is False or value == [])


DebugFlag = Annotated[
    bool,
    typer.Option("--debug", help="Show the traceback when something fails.", show_default=False),
]


@dataclasses.dataclass(frozen=True)
class OptionSet:
    """Base of every option set; `from_line` builds one from what the line gave."""

    # Set on subclasses whose values given before the command name also count (the root's).
    inherits_from_root: ClassVar[bool] = False

    @classmethod
    def from_line(cls: type[S], values: dict[str, Any], root: object) -> S:
        """The set as given; `root` is the root's option set (`ctx.obj`) for sets that inherit
        from it. Given after the command name wins over given before it."""
        if root is not None:
            values = {
                name: value if was_given(value) else getattr(root, name, value)
                for name, value in values.items()
            }
        return cls(**values)


def option_fields(cls: type[OptionSet]) -> list[inspect.Parameter]:
    """The set's fields as keyword-only parameters, annotations resolved (extras kept)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=field.default,
            annotation=hints[field.name],
        )
        for field in dataclasses.fields(cls)
    ]


def option_sets(func: Callable[..., R]) -> Callable[..., R]:
    """Expand every parameter typed as an `OptionSet` into that set's options (see the module)."""
    hints = typing.get_type_hints(func, include_extras=True)
    params: list[inspect.Parameter] = []
    sets: dict[str, type[OptionSet]] = {}
    for param in inspect.signature(func).parameters.values():
        annotation = hints.get(param.name, param.annotation)
        if isinstance(annotation, type) and issubclass(annotation, OptionSet):
            sets[param.name] = annotation
            params.extend(option_fields(annotation))  # in its place: --help keeps the order
        else:
            params.append(param.replace(annotation=annotation))
    # The command's own context parameter, if it has one; else one of ours that it never sees.
    ctx_name = next((p.name for p in params if p.annotation is typer.Context), None)
    params.append(
        inspect.Parameter(
            "debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugFlag
        )
    )
    if ctx_name is None:
        params.append(
            inspect.Parameter(
                CONTEXT_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
            )
        )
    names = [p.name for p in params]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:  # a programming error: found the first time the command tree is built
        raise TypeError(f"{func.__qualname__}: option names taken twice: {', '.join(clashes)}")
    # Keyword-only, so that a parameter without a default may follow one with a default.
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]

    @functools.wraps(func)
    def command(**given: Any) -> R:
        ctx: typer.Context = given[ctx_name] if ctx_name else given.pop(CONTEXT_PARAM)
        given.pop("debug")  # read from the command line by mqctl.cli.main, before parsing
        root = ctx.find_root().obj
        for name, cls in sets.items():
            values = {field.name: given.pop(field.name) for field in dataclasses.fields(cls)}
            given[name] = cls.from_line(values, root if cls.inherits_from_root else None)
        return func(**given)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # typer must see the new signature, not the wrapped function's
    return command


CONNECTION_PANEL = "Connection"


def _connection_option(*decls: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*decls, help=help, rich_help_panel=CONNECTION_PANEL, **kwargs)


CaCertFlag = Annotated[
    str | None,
    _connection_option(
        "--ca-cert",
        help="CA bundle (PEM) to verify the broker. (env: MQCTL_CA_CERT) "
        "Example: --ca-cert ~/certs/ca.pem",
        metavar="FILE",
        show_default=False,
    ),
]

ClientCertFlag = Annotated[
    str | None,
    _connection_option(
        "--client-cert",
        help="Client certificate (PEM). (env: MQCTL_CLIENT_CERT) "
        "Example: --client-cert ~/certs/client.pem",
        metavar="FILE",
        show_default=False,
    ),
]

ClientKeyFlag = Annotated[
    str | None,
    _connection_option(
        "--client-key",
        help="Client private key (PEM). (env: MQCTL_CLIENT_KEY) "
        "Example: --client-key ~/certs/client.key",
        metavar="FILE",
        show_default=False,
    ),
]

# A flag: False means "not given" (then MQCTL_INSECURE or the profile decide).
InsecureFlag = Annotated[
    bool,
    _connection_option(
        "--insecure",
        help="Do not verify the broker's TLS certificate. (env: MQCTL_INSECURE)",
        show_default=False,
    ),
]


@dataclasses.dataclass(frozen=True)
class TlsFlags(OptionSet):
    """The TLS files and verification switch, for commands that open TLS but no AMQP connection
    of their own (`wire proxy --upstream-tls`)."""

    inherits_from_root: ClassVar[bool] = True

    ca_cert: CaCertFlag = None
    client_cert: ClientCertFlag = None
    client_key: ClientKeyFlag = None
    insecure: InsecureFlag = False

    def settings(self) -> TlsSettings:
        """Resolved like the connection's: flag > environment > profile > default."""
        from mqctl.config import ConnectionOptions, resolve

        given = dataclasses.asdict(self)
        return resolve(ConnectionOptions(**{**given, "insecure": self.insecure or None})).tls


@dataclasses.dataclass(frozen=True)
class ConnectionFlags(OptionSet):
    """The connection options, taken by every command that talks to a broker.

    They are also accepted before the command name (`mqctl --url ... publish ...`); the command's
    own take precedence. `settings()` resolves them: flag > environment > profile > default.
    """

    inherits_from_root: ClassVar[bool] = True

    url: Annotated[
        list[str] | None,
        _connection_option(
            "--url",
            help="AMQP URI, amqp:// or amqps://, vhost in the path (%2f for /); several times for "
            "a cluster's nodes (the first that answers is used). "
            "(env: MQCTL_URL) (default: amqp://guest:guest@localhost:5672/%2f) "
            "Example: --url amqps://deployer@rabbit.example.com/orders",
            metavar="URL",
            show_default=False,
        ),
    ] = None
    api: Annotated[
        list[str] | None,
        _connection_option(
            "--api",
            help="Management API base URL; with several --url, once per --url in the same order. "
            "(env: MQCTL_API) "
            "(default: http://HOST:15672 of each node, https://HOST:15671 for amqps) "
            "Example: --api https://rabbit.example.com:15671",
            metavar="URL",
            show_default=False,
        ),
    ] = None
    vhost: Annotated[
        list[str] | None,
        _connection_option(
            "--vhost",
            help="Virtual host by its plain name (%2f is read as /); overrides the URL's. "
            "(env: MQCTL_VHOST) Example: --vhost orders",
            metavar="VHOST",
            show_default=False,
        ),
    ] = None
    profile: Annotated[
        str | None,
        _connection_option(
            "--profile",
            help="Named profile from $XDG_CONFIG_HOME/mqctl/config.yaml. (env: MQCTL_PROFILE) "
            "Example: --profile prod",
            metavar="NAME",
            show_default=False,
        ),
    ] = None
    ca_cert: CaCertFlag = None
    client_cert: ClientCertFlag = None
    client_key: ClientKeyFlag = None
    insecure: InsecureFlag = False

    def vhosts(self) -> tuple[str, ...]:
        """Every `--vhost` given (for commands such as `topology export` that take several)."""
        return tuple(self.vhost or ())

    def options(self) -> ConnectionOptions:
        """What was typed, for the resolver; refuses more than one --vhost."""
        from mqctl.config import ConnectionOptions

        vhosts = self.vhosts()
        if len(vhosts) > 1:
            from mqctl.errors import BadInput

            raise BadInput(
                f"--vhost given {len(vhosts)} times; this command works on one vhost",
                "give --vhost once",
            )
        return ConnectionOptions(
            url=tuple(self.url) if self.url else None,
            api=tuple(self.api) if self.api else None,
            vhost=vhosts[0] if vhosts else None,
            profile=self.profile,
            ca_cert=self.ca_cert,
            client_cert=self.client_cert,
            client_key=self.client_key,
            insecure=self.insecure or None,
        )

    def settings_for_vhosts(self) -> tuple[ConnectionSettings, list[str]]:
        """For commands that take --vhost several times: the connection without it, and the
        vhosts (those given, else the connection's own)."""
        from mqctl.config import resolve

        settings = resolve(self.options_any_vhost())
        return settings, list(self.vhosts()) or [settings.vhost]

    def options_any_vhost(self) -> ConnectionOptions:
        return dataclasses.replace(self, vhost=[]).options()

    def settings(self) -> ConnectionSettings:
        """The resolved connection (flag > environment > profile > default)."""
        from mqctl.config import resolve

        return resolve(self.options())

    def nodes(self) -> list[ConnectionSettings]:
        """Every node given (--url several times), resolved: for commands that can continue on
        another node when theirs goes away."""
        from mqctl.config import resolve_nodes

        return resolve_nodes(self.options())


# `publish` and `consume`: None (not given) lets the number of --url decide.
ReconnectFlag = Annotated[
    bool | None,
    typer.Option(
        "--reconnect/--no-reconnect",
        help="Go on after a lost connection (a node stopping or restarting, a network cut): "
        "connect again, to the next --url or the same node, up to 10 attempts in about 48 s, "
        "one line on stderr each. On by default when several --url are given. "
        "Example: --reconnect",
        show_default=False,
    ),
]


def failover_connection(
    connection: ConnectionFlags, reconnect: bool | None
) -> tuple[ConnectionSettings, Failover | None]:
    """The node to start on and, when reconnecting is on, the `Failover` over every node."""
    from mqctl import output
    from mqctl.messaging.failover import failover_for
    from mqctl.nodes import first_answering

    nodes = connection.nodes()
    return first_answering(nodes), failover_for(reconnect, nodes, output.warn)

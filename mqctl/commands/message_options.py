"""The options that describe one outgoing message, shared by `mqctl publish` and `mqctl rpc`.

They are declared once here and attached by command class (`cls=MessageCommand`), the way
`ConnectedCommand` attaches the connection options: the command functions keep only their own
options, and read these back with `message_options()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from typer.core import TyperOption

from mqctl.commands.common import ConnectedCommand
from mqctl.messaging.choices import HEADER_TYPES

PROPS_PANEL = "Properties"
BODY_PANEL = "Body"
_META_KEY = "mqctl.message"

# The AMQP basic properties that have a flag of their own, by parameter name.
PROPERTY_FLAGS: dict[str, tuple[str, type, str]] = {
    "content_type": ("--content-type", str, "Example: --content-type application/json"),
    "content_encoding": ("--content-encoding", str, "Example: --content-encoding gzip"),
    "delivery_mode": (
        "--delivery-mode",
        str,
        "1, 2, transient or persistent. Example: --delivery-mode persistent",
    ),
    "priority": ("--priority", int, "0..255. Example: --priority 5"),
    "correlation_id": ("--correlation-id", str, "Example: --correlation-id req-42"),
    "reply_to": ("--reply-to", str, "Example: --reply-to replies"),
    "expiration": (
        "--expiration",
        str,
        "Per-message TTL in milliseconds. Example: --expiration 60000",
    ),
    "message_id": ("--message-id", str, "Example: --message-id 7f3c"),
    "timestamp": (
        "--timestamp",
        str,
        "Epoch seconds, ISO 8601 or now. Example: --timestamp 2024-01-02T03:04:05Z",
    ),
    "type": ("--type", str, "Message type name. Example: --type order.created"),
    "user_id": (
        "--user-id",
        str,
        "Must be the connected user (RabbitMQ checks). Example: --user-id guest",
    ),
    "app_id": ("--app-id", str, "Example: --app-id billing"),
    "cluster_id": ("--cluster-id", str, "Example: --cluster-id eu-1"),
}
HEADER_HELP = (
    "Header KEY=VALUE, repeatable. VALUE is read as JSON when it parses (3, true, "
    '[1,2], {"a": 1}), else it is a string. KEY:TYPE=VALUE says the type; TYPE is one of '
    + ", ".join(HEADER_TYPES)
    + " (float is 32-bit, double 64-bit; bytes is base64; timestamp takes epoch seconds, "
    "ISO 8601 or now). Example: -H x-retry=3 -H sent:timestamp=now -H price:decimal=9.99"
)
PROPERTIES_JSON_HELP = (
    "All properties at once, inline JSON or a file; the flags above override it. "
    'Example: --properties-json \'{"priority": 5, "headers": {"x-retry": 3}}\''
)


@dataclass(frozen=True)
class MessageOptions:
    """What the message options were given as (None where not given)."""

    exchange: str | None
    routing_key: str | None
    body: str | None
    body_file: str | None
    body_base64: str | None
    headers: tuple[str, ...]
    properties_json: str | None
    flags: dict[str, Any]  # PROPERTY_FLAGS' parameter names -> value or None

    @property
    def has_body(self) -> bool:
        return any(v is not None for v in (self.body, self.body_file, self.body_base64))

    def properties(self) -> dict[str, Any]:
        """Validated properties from the property flags, --header and --properties-json."""
        from mqctl.messaging.properties import PropertyOptions, properties_from_options

        return properties_from_options(
            PropertyOptions(
                headers=self.headers, properties_json=self.properties_json, **self.flags
            )
        )


def message_params() -> list[click.Parameter]:
    """Fresh click parameters for the message options (one set per command)."""

    def opt(decls: list[str], help: str, panel: str | None = None, **kw: Any) -> TyperOption:
        return TyperOption(
            param_decls=decls, help=help, rich_help_panel=panel, show_default=False, **kw
        )

    return [
        opt(
            ["--exchange", "-e", "exchange"],
            'Exchange to publish to; the default exchange "" when not given. '
            "Example: --exchange orders",
        ),
        opt(
            ["--routing-key", "-k", "routing_key"],
            "Routing key (with the default exchange: the queue name). Example: -k order.created",
        ),
        opt(
            ["--body", "-b", "body"], "Body text (UTF-8). Example: --body '{\"id\": 1}'", BODY_PANEL
        ),
        opt(
            ["--body-file", "body_file"],
            "Read the body from a file ('-' for stdin). Example: --body-file order.json",
            BODY_PANEL,
        ),
        opt(
            ["--body-base64", "body_base64"],
            "Binary body given as base64. Example: --body-base64 AAEC",
            BODY_PANEL,
        ),
        *(
            opt([flag, name], help, PROPS_PANEL, type=kind)
            for name, (flag, kind, help) in PROPERTY_FLAGS.items()
        ),
        opt(["--header", "-H", "header"], HEADER_HELP, PROPS_PANEL, multiple=True),
        opt(["--properties-json", "properties_json"], PROPERTIES_JSON_HELP, PROPS_PANEL),
    ]


_NAMES = (
    "exchange",
    "routing_key",
    "body",
    "body_file",
    "body_base64",
    "header",
    "properties_json",
    *PROPERTY_FLAGS,
)


class MessageCommand(ConnectedCommand):
    """A command that sends a message: the connection options and the message options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # First in --help, as they were when each command declared them.
        self.params[:0] = message_params()

    def invoke(self, ctx: click.Context) -> Any:
        ctx.meta[_META_KEY] = {name: ctx.params.pop(name, None) for name in _NAMES}
        return super().invoke(ctx)


def message_options(ctx: click.Context | None = None) -> MessageOptions:
    """The running command's message options."""
    given = (ctx or click.get_current_context()).meta[_META_KEY]
    return MessageOptions(
        exchange=given["exchange"],
        routing_key=given["routing_key"],
        body=given["body"],
        body_file=given["body_file"],
        body_base64=given["body_base64"],
        headers=tuple(given["header"] or ()),
        properties_json=given["properties_json"],
        flags={name: given[name] for name in PROPERTY_FLAGS},
    )

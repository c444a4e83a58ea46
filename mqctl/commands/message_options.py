"""The options that describe one outgoing message, shared by `mqctl publish` and `mqctl rpc`.

They are one option set (`MessageFlags`, see `mqctl.commands.options`): declared once here, named
as one parameter by each command that sends a message.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from mqctl.commands.options import OptionSet
from mqctl.messaging.choices import HEADER_TYPES

PROPS_PANEL = "Properties"
BODY_PANEL = "Body"
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


def _option(*decls: str, help: str, panel: str | None = None) -> Any:
    return typer.Option(*decls, help=help, rich_help_panel=panel, show_default=False)


@dataclasses.dataclass(frozen=True)
class MessageFlags(OptionSet):
    """The message options as given (None where not given)."""

    exchange: Annotated[
        str | None,
        _option(
            "--exchange",
            "-e",
            help='Exchange to publish to; the default exchange "" when not given. '
            "Example: --exchange orders",
        ),
    ] = None
    routing_key: Annotated[
        str | None,
        _option(
            "--routing-key",
            "-k",
            help="Routing key (with the default exchange: the queue name). Example: -k order.created",
        ),
    ] = None
    body: Annotated[
        str | None,
        _option(
            "--body",
            "-b",
            help="Body text (UTF-8). Example: --body '{\"id\": 1}'",
            panel=BODY_PANEL,
        ),
    ] = None
    body_file: Annotated[
        str | None,
        _option(
            "--body-file",
            help="Read the body from a file ('-' for stdin). Example: --body-file order.json",
            panel=BODY_PANEL,
        ),
    ] = None
    body_base64: Annotated[
        str | None,
        _option(
            "--body-base64",
            help="Binary body given as base64. Example: --body-base64 AAEC",
            panel=BODY_PANEL,
        ),
    ] = None
    content_type: Annotated[
        str | None,
        _option(
            "--content-type", help="Example: --content-type application/json", panel=PROPS_PANEL
        ),
    ] = None
    content_encoding: Annotated[
        str | None,
        _option("--content-encoding", help="Example: --content-encoding gzip", panel=PROPS_PANEL),
    ] = None
    delivery_mode: Annotated[
        str | None,
        _option(
            "--delivery-mode",
            help="1, 2, transient or persistent. Example: --delivery-mode persistent",
            panel=PROPS_PANEL,
        ),
    ] = None
    priority: Annotated[
        int | None, _option("--priority", help="0..255. Example: --priority 5", panel=PROPS_PANEL)
    ] = None
    correlation_id: Annotated[
        str | None,
        _option("--correlation-id", help="Example: --correlation-id req-42", panel=PROPS_PANEL),
    ] = None
    reply_to: Annotated[
        str | None, _option("--reply-to", help="Example: --reply-to replies", panel=PROPS_PANEL)
    ] = None
    expiration: Annotated[
        str | None,
        _option(
            "--expiration",
            help="Per-message TTL in milliseconds. Example: --expiration 60000",
            panel=PROPS_PANEL,
        ),
    ] = None
    message_id: Annotated[
        str | None, _option("--message-id", help="Example: --message-id 7f3c", panel=PROPS_PANEL)
    ] = None
    timestamp: Annotated[
        str | None,
        _option(
            "--timestamp",
            help="Epoch seconds, ISO 8601 or now. Example: --timestamp 2024-01-02T03:04:05Z",
            panel=PROPS_PANEL,
        ),
    ] = None
    type: Annotated[
        str | None,
        _option(
            "--type", help="Message type name. Example: --type order.created", panel=PROPS_PANEL
        ),
    ] = None
    user_id: Annotated[
        str | None,
        _option(
            "--user-id",
            help="Must be the connected user (RabbitMQ checks). Example: --user-id guest",
            panel=PROPS_PANEL,
        ),
    ] = None
    app_id: Annotated[
        str | None, _option("--app-id", help="Example: --app-id billing", panel=PROPS_PANEL)
    ] = None
    cluster_id: Annotated[
        str | None, _option("--cluster-id", help="Example: --cluster-id eu-1", panel=PROPS_PANEL)
    ] = None
    header: Annotated[
        list[str] | None, _option("--header", "-H", help=HEADER_HELP, panel=PROPS_PANEL)
    ] = None
    properties_json: Annotated[
        str | None, _option("--properties-json", help=PROPERTIES_JSON_HELP, panel=PROPS_PANEL)
    ] = None

    @property
    def has_body(self) -> bool:
        return any(v is not None for v in (self.body, self.body_file, self.body_base64))

    def properties(self) -> dict[str, Any]:
        """Validated properties from the property flags, --header and --properties-json."""
        from mqctl.messaging.properties import PropertyOptions, properties_from_options

        flags = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(PropertyOptions)
            if field.name not in ("headers", "properties_json")
        }
        return properties_from_options(
            PropertyOptions(
                headers=tuple(self.header or ()), properties_json=self.properties_json, **flags
            )
        )

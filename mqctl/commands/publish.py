"""`mqctl publish`: test messages with every property, typed headers and pipelined confirms.

The property and body options are declared once here; `mqctl rpc` reuses them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mqctl import output
from mqctl.commands.common import ConnectedCommand, connection_settings
from mqctl.errors import BadInput, Interrupted, OperationFailed
from mqctl.messaging.choices import DEFAULT_WINDOW, HEADER_TYPES

if TYPE_CHECKING:
    from mqctl.messaging.publisher import PublishOptions

# The messaging modules (and pika with them) are imported inside the commands, not here: the
# command tree is built at every start and every completion TAB.

PROPS = "Properties"
BODY = "Body"

Exchange = Annotated[
    str | None,
    typer.Option(
        "--exchange",
        "-e",
        help='Exchange to publish to; the default exchange "" when not given. '
        "Example: --exchange orders",
        show_default=False,
    ),
]
RoutingKey = Annotated[
    str | None,
    typer.Option(
        "--routing-key",
        "-k",
        help="Routing key (with the default exchange: the queue name). Example: -k order.created",
        show_default=False,
    ),
]
Body = Annotated[
    str | None,
    typer.Option(
        "--body",
        "-b",
        help="Body text (UTF-8). Example: --body '{\"id\": 1}'",
        rich_help_panel=BODY,
    ),
]
BodyFile = Annotated[
    str | None,
    typer.Option(
        "--body-file",
        help="Read the body from a file ('-' for stdin). Example: --body-file order.json",
        rich_help_panel=BODY,
    ),
]
BodyBase64 = Annotated[
    str | None,
    typer.Option(
        "--body-base64",
        help="Binary body given as base64. Example: --body-base64 AAEC",
        rich_help_panel=BODY,
    ),
]


def _prop(flag: str, help: str) -> Any:
    return typer.Option(flag, help=help, rich_help_panel=PROPS, show_default=False)


ContentType = Annotated[
    str | None, _prop("--content-type", "Example: --content-type application/json")
]
ContentEncoding = Annotated[
    str | None, _prop("--content-encoding", "Example: --content-encoding gzip")
]
DeliveryMode = Annotated[
    str | None,
    _prop("--delivery-mode", "1, 2, transient or persistent. Example: --delivery-mode persistent"),
]
Priority = Annotated[int | None, _prop("--priority", "0..255. Example: --priority 5")]
CorrelationId = Annotated[str | None, _prop("--correlation-id", "Example: --correlation-id req-42")]
ReplyTo = Annotated[str | None, _prop("--reply-to", "Example: --reply-to replies")]
Expiration = Annotated[
    str | None,
    _prop("--expiration", "Per-message TTL in milliseconds. Example: --expiration 60000"),
]
MessageId = Annotated[str | None, _prop("--message-id", "Example: --message-id 7f3c")]
Timestamp = Annotated[
    str | None,
    _prop(
        "--timestamp", "Epoch seconds, ISO 8601 or now. Example: --timestamp 2024-01-02T03:04:05Z"
    ),
]
MessageType = Annotated[
    str | None, _prop("--type", "Message type name. Example: --type order.created")
]
UserId = Annotated[
    str | None,
    _prop("--user-id", "Must be the connected user (RabbitMQ checks). Example: --user-id guest"),
]
AppId = Annotated[str | None, _prop("--app-id", "Example: --app-id billing")]
ClusterId = Annotated[str | None, _prop("--cluster-id", "Example: --cluster-id eu-1")]
Header = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        help="Header KEY=VALUE, repeatable. VALUE is read as JSON when it parses (3, true, "
        '[1,2], {"a": 1}), else it is a string. KEY:TYPE=VALUE says the type; TYPE is one of '
        + ", ".join(HEADER_TYPES)
        + " (float is 32-bit, double 64-bit; bytes is base64; timestamp takes epoch seconds, "
        "ISO 8601 or now). Example: -H x-retry=3 -H sent:timestamp=now -H price:decimal=9.99",
        rich_help_panel=PROPS,
        show_default=False,
    ),
]
PropertiesJson = Annotated[
    str | None,
    _prop(
        "--properties-json",
        "All properties at once, inline JSON or a file; the flags above override it. "
        'Example: --properties-json \'{"priority": 5, "headers": {"x-retry": 3}}\'',
    ),
]


@dataclass(frozen=True)
class PublishSettings:
    messages: Any  # Sequence[OutgoingMessage]
    options: PublishOptions


PROPERTY_PARAMS = (
    "content_type",
    "content_encoding",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "type",
    "user_id",
    "app_id",
    "cluster_id",
    "properties_json",
)

PUBLISH_HELP = (
    "Publish test messages with full control of properties and typed headers.\n\n"
    "Confirms are on and pipelined. The final line says how many messages were sent, confirmed, "
    "returned (reply code and text) and nacked; the exit status is 1 when any was returned or "
    "nacked, 4 on bad input (then nothing is published).\n\n"
    "Example: mqctl publish -k orders --body '{\"id\": 1}' --content-type application/json "
    "-H x-retry=3 -H sent:timestamp=now --delivery-mode persistent --mandatory"
)


def properties_from_params(params: dict[str, Any]) -> dict[str, Any]:
    """Validated properties from a command's property flags, --header and --properties-json."""
    from mqctl.messaging.properties import PropertyOptions, properties_from_options

    values = {name: params[name] for name in PROPERTY_PARAMS}
    return properties_from_options(PropertyOptions(headers=tuple(params["header"] or ()), **values))


def publish_command(
    exchange: Exchange = None,
    routing_key: RoutingKey = None,
    body: Body = None,
    body_file: BodyFile = None,
    body_base64: BodyBase64 = None,
    content_type: ContentType = None,
    content_encoding: ContentEncoding = None,
    delivery_mode: DeliveryMode = None,
    priority: Priority = None,
    correlation_id: CorrelationId = None,
    reply_to: ReplyTo = None,
    expiration: Expiration = None,
    message_id: MessageId = None,
    timestamp: Timestamp = None,
    type: MessageType = None,
    user_id: UserId = None,
    app_id: AppId = None,
    cluster_id: ClusterId = None,
    header: Header = None,
    properties_json: PropertiesJson = None,
    count: Annotated[
        int,
        typer.Option("--count", "-n", min=1, help="Publish the message N times. Example: -n 1000"),
    ] = 1,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="At most R messages per second. Example: --rate 50",
            show_default=False,
        ),
    ] = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="Publish every message of a JSON-lines file ('-' for stdin), the shape "
            "`consume --format jsonl` prints; flags given here override each line's values. "
            "Example: --input saved.jsonl",
            show_default=False,
        ),
    ] = None,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm/--no-confirm",
            help="Wait for publisher confirms (pipelined). Example: --no-confirm",
        ),
    ] = True,
    confirm_window: Annotated[
        int,
        typer.Option(
            "--confirm-window",
            min=1,
            help="How many confirms may be outstanding at once. Example: --confirm-window 200",
        ),
    ] = DEFAULT_WINDOW,
    mandatory: Annotated[
        bool,
        typer.Option(
            "--mandatory",
            help="Have unroutable messages returned (Basic.Return), which makes the exit status 1. "
            "Example: --mandatory",
        ),
    ] = False,
) -> None:
    props = properties_from_params(locals())
    from mqctl.messaging.message import OutgoingMessage, Overrides, read_body, read_input
    from mqctl.messaging.properties import basic_properties
    from mqctl.messaging.publisher import PublishOptions, Repeated, publish

    if input is not None:
        if any(v is not None for v in (body, body_file, body_base64)):
            raise BadInput("--input and a --body option were both given", "give one of them")
        if count != 1:
            raise BadInput("--count does not combine with --input", "repeat lines in the file")
        messages: Any = read_input(input, Overrides(exchange, routing_key, props or None))
    else:
        if body is None and body_file is None and body_base64 is None and sys.stdin.isatty():
            output.info("reading the body from standard input (end it with Ctrl-D)")
        message = OutgoingMessage(
            exchange or "",
            routing_key or "",
            basic_properties(props),
            read_body(body, body_file, body_base64),
        )
        messages = Repeated(message, count)
    options = PublishOptions(confirm=confirm, mandatory=mandatory, window=confirm_window, rate=rate)
    settings = connection_settings()
    with output.progress(len(messages), "publishing") as advance:
        result = publish(settings, messages, options, progress=advance)
    output.publish_summary(result)
    if result.interrupted:
        raise Interrupted(f"interrupted after {result.sent} of {result.total} messages were sent")
    problems = []
    if result.returned_count:
        problems.append(f"{result.returned_count} returned as unroutable")
    if result.nacked:
        problems.append(f"{result.nacked} nacked by the broker")
    if result.unconfirmed:
        problems.append(f"{result.unconfirmed} never confirmed")
    if problems:
        raise OperationFailed(
            f"{' and '.join(problems)} of {result.sent} messages",
            "check the exchange, routing key and bindings (returns) or the queue's limits (nacks)",
        )


def register(app: typer.Typer) -> None:
    app.command("publish", cls=ConnectedCommand, help=PUBLISH_HELP)(publish_command)

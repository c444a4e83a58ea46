"""`mqctl wire proxy` and `mqctl wire sniff`: the live sources of the wire views.

Both join the `wire` app of `mqctl.commands.wire` and take `wire read`'s output options
(`--format`, `-v`, `--summary`, `--body` and the filters) as the very same click parameters,
copied from the `read` command, so the two cannot drift apart. What a live source adds is only its
first step (a proxy's sockets, a packet socket); the records go through the same filters and
renderers. Output is flushed per frame, so `| jq` works live. When the source stops (Ctrl-C), the
summary is printed: on stdout in place of the frames with `--summary`, otherwise on stderr so that
stdout stays a clean stream of frames.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from typer.core import TyperCommand

from mqctl import output
from mqctl.commands.common import connection_params, debug_param, given_options
from mqctl.commands.wire import app
from mqctl.config import ConnectionOptions, resolve
from mqctl.errors import BadInput, Unreachable
from mqctl.wire.choices import BodyMode, WireFormat

if TYPE_CHECKING:
    from mqctl.wire.pipeline import Record
    from mqctl.wire.proxy import ProxySettings
    from mqctl.wire.render_records import RenderSettings
    from mqctl.wire.sniff import SniffSettings

# The codec, the sources and the renderers are imported inside the functions that run them: this
# module is imported whenever the command tree is built (every start, every completion TAB).

# `wire read`'s options that the live commands share, by parameter name.
SHARED_OUTPUT = (
    "fmt",
    "verbose",
    "summary",
    "body",
    "channel",
    "method",
    "conn",
    "frame_type",
    "limit",
)
TLS_OPTIONS = ("ca_cert", "client_cert", "client_key", "insecure")
_META_KEY = "mqctl.wire.output"


@functools.cache
def _read_command() -> click.Command:
    """`wire read` as a click command, built alone (building the whole group would build us)."""
    info = next(c for c in app.registered_commands if c.name == "read")
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=True, rich_markup_mode=app.rich_markup_mode
    )


def _read_params() -> list[click.Parameter]:
    """Copies of `wire read`'s output and filter parameters."""
    by_name = {p.name: p for p in _read_command().params}
    missing = [name for name in SHARED_OUTPUT if name not in by_name]
    if missing:  # a rename in `wire read` must not silently drop options here
        raise RuntimeError(f"wire read no longer has the options {missing}")
    return [copy.copy(by_name[name]) for name in SHARED_OUTPUT]


class LiveCommand(TyperCommand):
    """A live wire command: its own options, plus `wire read`'s output options and `--debug`."""

    extra_names: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend([*_read_params(), *self.extra_params(), debug_param()])

    def extra_params(self) -> list[click.Parameter]:
        return []

    def invoke(self, ctx: click.Context) -> Any:
        ctx.meta[_META_KEY] = {name: ctx.params.pop(name) for name in SHARED_OUTPUT}
        return super().invoke(ctx)


class ProxyCommand(LiveCommand):
    """`wire proxy` also takes the connection TLS options, for `--upstream-tls`."""

    def extra_params(self) -> list[click.Parameter]:
        return [p for p in connection_params() if p.name in TLS_OPTIONS]

    def invoke(self, ctx: click.Context) -> Any:
        given = {name: ctx.params.pop(name, None) for name in TLS_OPTIONS}
        ctx.meta.setdefault("mqctl.connection", {})["command"] = {**given, "vhost": ()}
        return super().invoke(ctx)


def _render_settings() -> RenderSettings:
    from mqctl.wire.filters import RecordFilter
    from mqctl.wire.render_records import RenderSettings

    given = click.get_current_context().meta[_META_KEY]
    return RenderSettings(
        # Raw click values: typer converts only the parameters of the function's own signature.
        fmt=WireFormat(given["fmt"]),
        verbose=bool(given["verbose"]),
        summary=bool(given["summary"]),
        body=BodyMode(given["body"]),
        selection=RecordFilter.build(
            given["conn"], given["channel"], given["method"], given["frame_type"], given["limit"]
        ),
    )


def render_live(
    records: Iterable[Record], settings: RenderSettings, writer: output.WireWriter
) -> None:
    """Frames as they come (the writer flushes each), then the summary when the source stops:
    with --summary in their place, as `wire read` does; otherwise on stderr."""
    from mqctl.wire.filters import RecordFilter
    from mqctl.wire.render_records import render_records
    from mqctl.wire.render_summary import summary_lines
    from mqctl.wire.summary import SummaryBuilder

    if settings.summary:
        render_records(records, settings, writer)
        return
    builder = SummaryBuilder()
    add = builder.add

    def counted(selected: Iterable[Record]) -> Iterator[Record]:
        for record in selected:
            add(record)  # as in `wire read`, the summary covers what the filters let through
            yield record

    selected = counted(settings.selection.apply(records))
    render_records(selected, replace(settings, selection=RecordFilter()), writer)
    stderr = output.WireWriter(sys.stderr, live=True)
    for line in summary_lines(builder.finish()):
        stderr.line(line)
    stderr.flush()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _live_view(render: RenderSettings, forwarding: bool) -> Callable[[Iterable[Record]], None]:
    """The records on stdout as they come; a closed stdout (`| head`) ends the view only."""
    writer = output.WireWriter(sys.stdout, live=True)

    def show(records: Iterable[Record]) -> None:
        try:
            render_live(records, render, writer)
        except BrokenPipeError:
            if not forwarding:
                raise
            _silence_stdout()  # the reader has gone, the clients have not
            output.warn("stdout was closed: no more frames are shown; forwarding continues")

    return show


# --- wire proxy --------------------------------------------------------------------------------


def run_proxy(
    settings: ProxySettings,
    render: RenderSettings,
    write: Path | None,
    mask_passwords: bool = False,
) -> None:
    """Forward until Ctrl-C, showing the frames; the summary is printed at the end."""
    from mqctl.wire import live_run

    outcome = live_run.run_proxy(
        settings,
        _live_view(render, forwarding=True),
        write,
        info=output.info,
        warn=output.warn,
        mask_passwords=mask_passwords,
    )
    output.info(outcome.stats.describe())
    outcome.check()


@app.command("proxy", cls=ProxyCommand)
def proxy_command(
    listen: str = typer.Option(
        ...,
        "--listen",
        metavar="HOST:PORT",
        help="Where clients connect instead of the broker; :PORT listens on every interface, "
        "port 0 picks a free one. Example: --listen 127.0.0.1:5673",
    ),
    upstream: str = typer.Option(
        ...,
        "--upstream",
        metavar="HOST[:PORT]",
        help="The broker to forward to (port 5672, 5671 with --upstream-tls, unless given). "
        "Example: --upstream rabbit.internal:5672",
    ),
    write: Path | None = typer.Option(
        None,
        "--write",
        metavar="FILE",
        help="Also record the traffic as a pcap (wire read and tshark read it). It holds the "
        "clients' passwords in clear, as sent (the views mask them): add --mask-passwords. "
        "Example: --write session.pcap",
    ),
    mask_passwords: bool = typer.Option(
        False,
        "--mask-passwords",
        help="Write --write's pcap with the passwords of Connection.StartOk and UpdateSecret "
        "overwritten by '*' (lengths kept, so the capture stays valid).",
    ),
    upstream_tls: bool = typer.Option(
        False,
        "--upstream-tls",
        help="Speak TLS (amqps) to the broker while clients connect in plain text; "
        "verification follows --ca-cert/--insecure. Example: --upstream rabbit:5671 --upstream-tls",
    ),
) -> None:
    """Forward AMQP between clients and a broker unchanged, printing every frame live.

    Example: mqctl wire proxy --listen 127.0.0.1:5673 --upstream 127.0.0.1:5672 --format jsonl | jq .method
    """
    from mqctl.amqp_connection import ssl_context
    from mqctl.wire.proxy import ProxySettings, parse_host_port

    tls_context = None
    upstream_host, upstream_port = parse_host_port(
        upstream, "--upstream", default_port=5671 if upstream_tls else 5672
    )
    if upstream_tls:
        given = given_options()
        tls = resolve(ConnectionOptions(**{k: given[k] for k in TLS_OPTIONS})).tls
        try:
            tls_context = ssl_context(tls)
        except OSError as exc:
            raise Unreachable(
                f"cannot load TLS files: {exc}", "check --ca-cert/--client-cert/--client-key"
            ) from None
    settings = ProxySettings(
        listen=parse_host_port(listen, "--listen", any_host=True),
        upstream=(upstream_host, upstream_port),
        upstream_tls=tls_context,
        check_upstream=True,
    )
    if mask_passwords and write is None:
        raise BadInput("--mask-passwords applies to --write", "add --write FILE, or drop it")
    run_proxy(settings, _render_settings(), write, mask_passwords)


# --- wire sniff --------------------------------------------------------------------------------


def run_sniff(settings: SniffSettings, render: RenderSettings, write: Path | None) -> None:
    """Capture until Ctrl-C (or SIGTERM), showing the frames; the summary is printed at the end."""
    from mqctl.wire import live_run

    outcome = live_run.run_sniff(
        settings, _live_view(render, forwarding=False), write, info=output.info
    )
    lost = (
        f"; the kernel dropped {outcome.kernel_drops} (decoding too slow)"
        if outcome.kernel_drops
        else ""
    )
    output.info(f"wire sniff: {outcome.packets} packet(s) captured{lost}")


@app.command("sniff", cls=LiveCommand)
def sniff_command(
    interface: str = typer.Option(
        ...,
        "--interface",
        "-i",
        metavar="IFACE",
        help="Network interface to capture on ('any' for all); needs root or CAP_NET_RAW. "
        "Example: -i lo",
    ),
    port: int = typer.Option(
        5672,
        "--port",
        min=1,
        max=65535,
        help="TCP port of the AMQP traffic; filtered in the kernel. Example: --port 5673",
    ),
    write: Path | None = typer.Option(
        None,
        "--write",
        metavar="FILE",
        help="Also save the captured packets as a pcap. It holds AMQP passwords in clear, as "
        "captured (the views mask them); for a masked recording use wire proxy --write "
        "--mask-passwords. Example: --write capture.pcap",
    ),
) -> None:
    """Capture AMQP live from a network interface and print every frame.

    Example: sudo mqctl wire sniff -i eth0 --port 5672 --method 'Basic.*'
    """
    from mqctl.wire.sniff import SniffSettings

    run_sniff(SniffSettings(interface, port), _render_settings(), write)

"""`mqctl wire proxy` and `mqctl wire sniff`: the live sources of the wire views.

Both join the `wire` app of `mqctl.commands.wire` and take `wire read`'s output options
(`--format`, `-v`, `--summary`, `--body` and the filters): the same option set, `WireOutputFlags`,
copied from the `read` command, so the two cannot drift apart. What a live source adds is only its
first step (a proxy's sockets, a packet socket); the records go through the same filters and
renderers. Output is flushed per frame, so `| jq` works live. When the source stops (Ctrl-C), the
summary is printed: on stdout in place of the frames with `--summary`, otherwise on stderr so that
stdout stays a clean stream of frames.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mqctl import output
from mqctl.commands.options import TlsFlags, option_sets
from mqctl.commands.wire import WireOutputFlags, app
from mqctl.errors import BadInput, Unreachable

if TYPE_CHECKING:
    from mqctl.wire.pipeline import Record
    from mqctl.wire.proxy import ProxySettings
    from mqctl.wire.render_records import RenderSettings
    from mqctl.wire.sniff import SniffSettings

# The codec, the sources and the renderers are imported inside the functions that run them: this
# module is imported whenever the command tree is built (every start, every completion TAB).


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


def _live_view(render: RenderSettings, forwarding: bool) -> Callable[[Iterable[Record]], None]:
    """The records on stdout as they come; a closed stdout (`| head`) ends the view only."""
    writer = output.WireWriter(sys.stdout, live=True)

    def show(records: Iterable[Record]) -> None:
        try:
            render_live(records, render, writer)
        except BrokenPipeError:
            if not forwarding:
                raise
            output.silence_stdout()  # the reader has gone, the clients have not
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


@app.command("proxy")
@option_sets
def proxy_command(
    shown: WireOutputFlags,
    tls_files: TlsFlags,
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
        tls = tls_files.settings()
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
    run_proxy(settings, shown.render_settings(), write, mask_passwords)


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


@app.command("sniff")
@option_sets
def sniff_command(
    shown: WireOutputFlags,
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

    run_sniff(SniffSettings(interface, port), shown.render_settings(), write)

"""The typer app and the one place where exceptions become exit statuses and one-line messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click
import typer

from mqctl import __version__, output
from mqctl.commands.common import ConnectedGroup
from mqctl.errors import ExitStatus, MqctlError
from mqctl.redact import scrub

app = typer.Typer(
    name="mqctl",
    cls=ConnectedGroup,
    help=(
        "Administration and diagnostics for RabbitMQ and AMQP 0-9-1: topology as code, "
        "test messages, and the wire.\n\n"
        "Exit statuses: 0 success, 1 operation failed, 2 plan has pending changes, "
        "3 broker unreachable or access refused, 4 bad input or usage, 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,  # the root group brings its own (mqctl.completion.scripts)
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mqctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Administration and diagnostics for RabbitMQ and AMQP 0-9-1."""


def _register_commands() -> None:
    """Command groups join the app here as their modules land."""
    import mqctl.commands.wire_live  # noqa: F401  (adds `wire proxy` and `wire sniff`)
    from mqctl.commands import consume, publish, rpc, topology, wire

    app.add_typer(topology.app, name="topology")
    publish.register(app)
    consume.register(app)
    rpc.register(app)
    app.add_typer(wire.app, name="wire")


_register_commands()


def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("MQCTL_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run mqctl; return its exit status. Nothing but this function turns errors into statuses."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="mqctl", standalone_mode=False)
    except MqctlError as exc:
        if debug:
            _print_traceback()
        output.error_line(str(exc))
        return int(exc.exit_status)
    except click.UsageError as exc:
        if debug:
            _print_traceback()
        where = exc.ctx.command_path if exc.ctx else "mqctl"
        output.error_line(f"{exc.format_message().rstrip('.')}; see '{where} --help'")
        return int(ExitStatus.BAD_INPUT)
    except click.ClickException as exc:
        output.error_line(exc.format_message())
        return int(ExitStatus.BAD_INPUT)
    except (click.exceptions.Abort, KeyboardInterrupt):
        output.error_line("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`); say nothing more into a closed pipe.
        _silence_stdout()
        return int(ExitStatus.FAILED)
    except Exception as exc:
        if debug:
            raise
        output.error_line(
            f"internal error: {type(exc).__name__}: {scrub(str(exc))}; "
            "rerun with --debug and report it"
        )
        return int(ExitStatus.FAILED)
    return result if isinstance(result, int) else int(ExitStatus.OK)


def _print_traceback() -> None:
    import traceback  # only with --debug: start-up does not pay for it

    traceback.print_exc()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())

"""The typer app and the one place where exceptions become exit statuses and one-line messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from mqctl import __version__
from mqctl.commands.options import ConnectionFlags, option_sets
from mqctl.commands.registry import LazyGroup
from mqctl.errors import ExitStatus, MqctlError
from mqctl.redact import scrub

app = typer.Typer(
    name="mqctl",
    cls=LazyGroup,
    help=(
        "Administration and diagnostics for RabbitMQ and AMQP 0-9-1: topology as code, "
        "test messages, and the wire.\n\n"
        "Exit statuses: 0 success, 1 operation failed, 2 plan has pending changes, "
        "3 broker unreachable or access refused, 4 bad input or usage, 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,  # mqctl brings its own (mqctl.completion)
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMPLETION_PANEL = "Shell completion"
# Help is laid out at least this wide: narrower, rich cuts option names (`--exch…`) to fit.
HELP_MIN_WIDTH = 80
HELP_FLAGS = ("--help", "-h")
SHELL_OPTIONS = ("--install-completion", "--show-completion")
COMPLETE_VAR = "_MQCTL_COMPLETE"  # the shell scripts' variable (mqctl.completion.shells)


def _version(value: bool) -> None:
    if value:
        from mqctl.build import build_name

        typer.echo(f"mqctl {__version__} ({build_name()})")
        raise typer.Exit()


def _show_completion(value: str | None) -> None:
    if value is not None:
        from mqctl.completion.scripts import show

        show(value)
        raise typer.Exit()


def _install_completion(value: str | None) -> None:
    if value is not None:
        from mqctl.completion.scripts import install_for

        install_for(value)
        raise typer.Exit()


@app.callback()
@option_sets
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    connection: ConnectionFlags = ConnectionFlags(),
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="[SHELL]",
            callback=_install_completion,
            is_eager=True,
            expose_value=False,
            rich_help_panel=COMPLETION_PANEL,
            show_default=False,
            help="Install completion for SHELL: bash, zsh or fish (default: the current shell). "
            "Example: mqctl --install-completion zsh",
        ),
    ] = None,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="[SHELL]",
            callback=_show_completion,
            is_eager=True,
            expose_value=False,
            rich_help_panel=COMPLETION_PANEL,
            show_default=False,
            help="Print the completion script for SHELL: bash, zsh or fish (default: the current "
            "shell). Example: mqctl --show-completion fish > ~/.config/fish/completions/mqctl.fish",
        ),
    ] = None,
) -> None:
    """Administration and diagnostics for RabbitMQ and AMQP 0-9-1."""
    # Connection options given before the command name; commands merge theirs over these.
    ctx.obj = connection


def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("MQCTL_DEBUG", "") not in ("", "0")


def _usage_error_class() -> type[Exception]:
    """The class of typer's usage errors (unknown option, missing argument, bad value).

    typer exports only one subclass of it, BadParameter; its base class is found from there, so
    that mqctl names nothing private of typer's.
    """
    return next(base for base in typer.BadParameter.__mro__ if base.__name__ == "UsageError")


def main(argv: Sequence[str] | None = None) -> int:
    """Run mqctl; return its exit status. Nothing but this function turns errors into statuses."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        return _run(args)
    except MqctlError as exc:
        if debug:
            _print_traceback()
        _output().error_line(str(exc))
        return int(exc.exit_status)
    except (typer.Abort, KeyboardInterrupt):
        _output().error_line("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`); say nothing more into a closed pipe.
        _output().silence_stdout()
        return int(ExitStatus.FAILED)
    except Exception as exc:
        if _is_typer_error(exc):
            if debug:
                _print_traceback()
            _output().error_line(_usage_message(exc))
            return int(ExitStatus.BAD_INPUT)
        if debug:
            _print_traceback()
        _output().error_line(
            f"internal error: {type(exc).__name__}: {scrub(str(exc))}; "
            + (
                "please report it with the traceback above"
                if debug
                else "rerun with --debug and report it"
            )
        )
        return int(ExitStatus.FAILED)


def _run(args: list[str]) -> int:
    """Completion requests and the shell options first (no command tree needed), then typer."""
    if os.environ.get(COMPLETE_VAR):  # a TAB: the completion protocol answers, typer is not run
        from mqctl.completion.protocol import answer_completion_request

        status = answer_completion_request(app_command)
        if status is not None:
            return status
    if args and args[0] in SHELL_OPTIONS:
        # Their SHELL may be left out, which typer's options cannot express: read them here.
        from mqctl.completion.scripts import install_for, show

        shell = args[1] if len(args) > 1 and not args[1].startswith("-") else ""
        (install_for if args[0] == SHELL_OPTIONS[0] else show)(shell)
        return int(ExitStatus.OK)
    if not args or any(arg in HELP_FLAGS for arg in args):
        _widen_help()
    try:
        result = app_command().main(args=args, prog_name="mqctl", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    if isinstance(result, int):
        return result
    return int(ExitStatus.OK)


def _widen_help() -> None:
    """On a terminal narrower than HELP_MIN_WIDTH, help is laid out HELP_MIN_WIDTH wide (the
    terminal wraps the long lines): an option's name is never cut. rich reads COLUMNS."""
    import shutil

    if shutil.get_terminal_size().columns < HELP_MIN_WIDTH:
        os.environ["COLUMNS"] = str(HELP_MIN_WIDTH)


def app_command() -> Any:
    """The click command typer builds for the app (commands load when the line names them)."""
    return typer.main.get_command(app)


def _is_typer_error(exc: Exception) -> bool:
    # typer's errors (usage errors and the rest of click's family) all carry these two.
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


def _usage_message(exc: Exception) -> str:
    message = str(exc.format_message()).rstrip(".")  # type: ignore[attr-defined]
    # typer checks values with pydantic, whose messages for a refused choice start so.
    message = message.replace(": Value error, ", ": ")
    if isinstance(exc, _usage_error_class()):
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "mqctl"
        if not message:  # a group run without its command
            return f"{where} needs a command; see '{where} --help'"
        return f"{message}; see '{where} --help'"
    return message


def _output() -> Any:
    """mqctl.output, loaded only when there is something to say: --version and a TAB never are."""
    from mqctl import output

    return output


def _print_traceback() -> None:
    """The traceback, scrubbed of secrets like every other diagnostic."""
    import traceback  # only with --debug: start-up does not pay for it

    sys.stderr.write(scrub(traceback.format_exc()))
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())

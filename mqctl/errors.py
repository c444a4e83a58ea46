"""The exception hierarchy: every error mqctl reports is one of these, and each carries its exit status.

Only `mqctl.cli.main` turns them into an exit status and a one-line message; the library raises them
and never prints.
"""

from __future__ import annotations

from enum import IntEnum

# How `wire proxy` refuses a client whose upstream cannot be reached: the reply text of the
# Connection.Close it sends (AMQP's own way to refuse), which mqctl's client recognises.
PROXY_UPSTREAM_UNREACHABLE = "mqctl wire proxy: upstream unreachable"


class ExitStatus(IntEnum):
    """Exit statuses, documented in the README; scripts rely on them."""

    OK = 0
    FAILED = 1  # the operation ran and failed (a broker refusal, a conflict, a returned message)
    PENDING_CHANGES = 2  # `topology plan`: the plan is not empty
    UNREACHABLE = 3  # broker unreachable, or authentication / vhost access refused
    BAD_INPUT = 4  # malformed file, capture, URL or option value; usage errors
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM, where a command stops cleanly on it (topology apply)


# How `wire proxy` tells a client that its upstream cannot be reached: the reply text of the
# Connection.Close it sends (AMQP's own way to refuse), which mqctl's own client recognises. Here,
# below both, so that neither the client nor the proxy imports the other.
PROXY_UPSTREAM_UNREACHABLE = "mqctl wire proxy: upstream unreachable"


class MqctlError(Exception):
    """Base class. `message` says what failed; `hint` says what to do about it."""

    exit_status: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class OperationFailed(MqctlError):
    """The broker or the operation refused; exit 1."""


class BrokerError(OperationFailed):
    """An AMQP channel/connection close or a management API error, with the broker's reply code."""

    def __init__(
        self, message: str, hint: str | None = None, reply_code: int | None = None
    ) -> None:
        super().__init__(message, hint)
        self.reply_code = reply_code


class Unreachable(MqctlError):
    """The broker cannot be reached (DNS, refused port, timeout, TLS handshake); exit 3."""

    exit_status = ExitStatus.UNREACHABLE


class AccessRefused(Unreachable):
    """The broker answered but refused the credentials or the vhost; exit 3."""


class BadInput(MqctlError):
    """Malformed input from the user: a file, a capture, a URL, an option value; exit 4."""

    exit_status = ExitStatus.BAD_INPUT


class ConfigError(BadInput):
    """The profile file or a connection setting is wrong."""


class Interrupted(MqctlError):
    """The user pressed Ctrl-C; raised where a command must report what it left undone."""

    exit_status = ExitStatus.INTERRUPTED

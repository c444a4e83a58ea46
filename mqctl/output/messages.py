"""consume/get/rpc output and the publish summary."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import select
import struct
import sys
import termios
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    pass

# rich, yaml and the messaging modules are imported inside the functions that use them: every
# command, and every completion TAB, imports this module, and most never render anything rich.

from mqctl.output.console import (
    color_enabled,
    silence_stdout,
)

# --- messages: consume/get/rpc output and the publish summary ------------------------------
#
# A consumer acks a message only after `MessageWriter.write_batch` returned for it, so this
# writer says exactly how many messages reached the output. When stdout is a pipe it waits until
# the reader has taken each message from the pipe before the next: `mqctl consume | head -1`
# then takes one message, and the ones `head` never read stay in the queue.


class MessageFormat(StrEnum):
    pretty = "pretty"
    json = "json"
    jsonl = "jsonl"


class MessageWriter:
    def __init__(
        self, fmt: MessageFormat, *, body_only: bool = False, stream: TextIO | None = None
    ) -> None:
        from mqctl.messaging.sink import MessageSink

        self.fmt = fmt
        self.body_only = body_only
        self.stream = stream or sys.stdout
        self.count = 0
        self._sink = MessageSink(self.stream)
        self._color = color_enabled(self.stream)

    def write_batch(self, deliveries: Sequence[Any]) -> None:
        """Write each message whole; raise OutputFailed saying how many of them got out."""
        from mqctl.messaging.message import OutputFailed
        from mqctl.messaging.signals import stop_requested

        chunks = [self._render(d) for d in deliveries]
        try:
            if not self._sink.is_pipe:
                return self._sink.write(chunks)
            assert self._sink.fd is not None
            for index, chunk in enumerate(chunks):
                try:
                    if stop_requested():  # Ctrl-C or SIGTERM: write no more
                        raise InterruptedError(errno.EINTR, "interrupted")
                    self._sink.write([chunk])
                    _wait_drained(self._sink.fd)
                except OutputFailed as exc:
                    raise OutputFailed(index + exc.written, exc.cause) from None
                except OSError as exc:
                    raise OutputFailed(index, exc) from None
        except OutputFailed as exc:
            if exc.broken_pipe:
                silence_stdout()
            raise

    def close(self) -> None:
        """End the output (closes the JSON array); errors are ignored: the data is out already."""
        if self.fmt is MessageFormat.json and not self.body_only:
            from mqctl.messaging.message import OutputFailed

            closing = "\n]\n" if self.count else "[]\n"
            with contextlib.suppress(OutputFailed):
                self._sink.write([closing.encode()])

    def _render(self, delivery: Any) -> bytes:
        from mqctl.messaging.message import delivery_record

        self.count += 1
        if self.body_only:
            body: bytes = delivery.body
            return body if body.endswith(b"\n") else body + b"\n"
        if self.fmt is MessageFormat.jsonl:
            return (json.dumps(delivery_record(delivery), ensure_ascii=False) + "\n").encode()
        if self.fmt is MessageFormat.json:
            text = json.dumps(delivery_record(delivery), ensure_ascii=False, indent=2)
            return (("[\n" if self.count == 1 else ",\n") + text).encode()
        text = _pretty_message(delivery_record(delivery), self.count, self._color)
        return (text if self.count == 1 else "\n" + text).encode()  # a blank line between


def _pretty_message(record: Mapping[str, Any], number: int, color: bool) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        width=100,
    )
    title = Text(f"message {number}", style="bold cyan")
    title.append(
        f"  exchange {json.dumps(record['exchange'])}  routing key "
        f"{json.dumps(record['routing_key'])}  delivery tag {record['delivery_tag']}",
        style="cyan",
    )
    if record["redelivered"]:
        title.append("  redelivered", style="yellow")
    console.print(title)
    for name, value in record["properties"].items():
        if name == "headers":
            console.print(Text("  headers:", style="bold"))
            for key, item in value.items():
                line = Text(f"    {key}: ", style="bold")
                line.append(json.dumps(item, ensure_ascii=False))
                console.print(line)
        else:
            line = Text(f"  {name}: ", style="bold")
            line.append(str(value))
            console.print(line)
    encoding = record.get("body_encoding")
    label = f"  body ({encoding}):" if encoding else "  body:"
    console.print(Text(label, style="bold"))
    console.print(Text(record["body"]), markup=False)
    return buffer.getvalue()


def publish_summary(result: Any, mandatory: bool = True) -> None:
    """The final line of `mqctl publish`: sent, confirmed, returned (code text), nacked.

    Without mandatory nothing can come back, so "returned 0" would claim what nobody checked."""
    parts = [f"sent {result.sent}"]
    if result.confirms:
        parts.append(f"confirmed {result.confirmed}")
    else:
        parts.append("confirmed - (confirms off)")
    returned = f"returned {result.returned_count}"
    if result.returned:
        returned += (
            " ("
            + ", ".join(
                f"{code} {text}: {n}" for (code, text), n in sorted(result.returned.items())
            )
            + ")"
        )
    parts.append(
        returned if mandatory else "returned - (--no-mandatory: unroutable ones are dropped)"
    )
    parts.append(f"nacked {result.nacked}" if result.confirms else "nacked -")
    if result.unconfirmed:
        parts.append(f"unconfirmed {result.unconfirmed}")
    if result.reconnects:
        from mqctl.messaging.publisher import republished_text

        parts.append(republished_text(result))
    sys.stdout.write(", ".join(parts) + "\n")
    sys.stdout.flush()


def _wait_drained(fd: int) -> None:
    """Return once the pipe's reader has read everything; BrokenPipeError if it went away,
    InterruptedError on Ctrl-C or SIGTERM (the message in the pipe is not read yet)."""
    from mqctl.messaging.signals import stop_requested

    delay = 0.00002
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while True:
        unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if unread == 0:
            return
        if stop_requested():
            raise InterruptedError(errno.EINTR, "interrupted")
        for _, events in poller.poll(0):
            if events & (select.POLLERR | select.POLLHUP):
                silence_stdout()
                raise BrokenPipeError(32, "the reader closed the pipe")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)

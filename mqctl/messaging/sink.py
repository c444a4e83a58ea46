"""Writing messages out so that "written" is true: whole lines that the kernel took, or an error.

Python's buffered streams may report success for data still in their buffer, and a flush that
fails part way does not say how much got out. Here every byte goes through `os.write`, whose
return value is checked, until the whole batch is out or the kernel refuses (ENOSPC, EPIPE,
EIO...). The messages whose bytes all went out count as written; in a regular file the partial
line after them is cut off again, so the file holds whole messages only.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Sequence
from typing import TextIO

from mqctl.messaging.message import OutputFailed


def write_all(fd: int, data: bytes) -> int:
    """Write all of `data`; return its length, or raise PartialWrite saying how much went out."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        try:
            written = os.write(fd, view[done:])
        except InterruptedError:
            continue
        except OSError as exc:
            raise PartialWrite(done, exc) from None
        if written <= 0:  # not an error by itself, but no progress either
            raise PartialWrite(done, OSError(0, "the output took no more bytes"))
        done += written
    return done


class PartialWrite(Exception):
    def __init__(self, written: int, cause: OSError) -> None:
        super().__init__(str(cause))
        self.written = written
        self.cause = cause


class MessageSink:
    """The byte end of a message writer, on the stream's file descriptor when it has one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.fd = _fileno(stream)
        mode = os.fstat(self.fd).st_mode if self.fd is not None else 0
        self.is_pipe = stat.S_ISFIFO(mode)
        self.is_file = stat.S_ISREG(mode)

    def write(self, chunks: Sequence[bytes]) -> None:
        """Write each chunk (one message) whole; OutputFailed(n) when only the first n were."""
        if self.fd is None:
            return self._write_stream(chunks)
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()  # anything printed before goes first
        start = self._position()
        data = b"".join(chunks)
        try:
            write_all(self.fd, data)
        except PartialWrite as exc:
            complete, end = 0, 0
            for chunk in chunks:
                if end + len(chunk) > exc.written:
                    break
                end += len(chunk)
                complete += 1
            if exc.written > end and start is not None:
                self._cut(start + end)
            raise OutputFailed(complete, exc.cause) from None

    def _position(self) -> int | None:
        if not self.is_file or self.fd is None:
            return None
        try:
            return os.lseek(self.fd, 0, os.SEEK_CUR)
        except OSError:
            return None

    def _cut(self, size: int) -> None:
        """Remove the partial message: the file ends with the last whole one."""
        assert self.fd is not None
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, size)
            os.lseek(self.fd, size, os.SEEK_SET)

    def _write_stream(self, chunks: Sequence[bytes]) -> None:
        # A stream without a descriptor (a test's capture): its own write and flush.
        binary = getattr(self.stream, "buffer", None)
        for index, chunk in enumerate(chunks):
            try:
                if binary is not None:
                    binary.write(chunk)
                    binary.flush()
                else:
                    self.stream.write(chunk.decode("utf-8", "replace"))
                    self.stream.flush()
            except OSError as exc:
                raise OutputFailed(index, exc) from None


def _fileno(stream: TextIO) -> int | None:
    try:
        fd = stream.fileno()
        os.fstat(fd)
        return fd
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        return None

"""The batching transport: the frames of one I/O-loop turn go to the socket's transport as one
write, in order, and nothing collected outlives the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mqctl.messaging.batching import BatchingTransport


class FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeServices:
    """Timers due at once, run when the test says the loop turn ended."""

    def __init__(self) -> None:
        self.due: list[tuple[FakeTimer, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        assert delay == 0
        timer = FakeTimer()
        self.due.append((timer, callback))
        return timer

    def end_turn(self) -> None:
        due, self.due = self.due, []
        for timer, callback in due:
            if not timer.cancelled:
                callback()


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.aborted = False
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def abort(self) -> None:
        self.aborted = True

    def get_protocol(self) -> Any:
        return "protocol"

    def get_write_buffer_size(self) -> int:
        return self.buffered


def batching() -> tuple[BatchingTransport, FakeTransport, FakeServices]:
    inner, services = FakeTransport(), FakeServices()
    return BatchingTransport(inner, services), inner, services  # type: ignore[arg-type]


def test_one_write_per_turn_in_order() -> None:
    transport, inner, services = batching()
    for frame in (b"method", b"header", b"body"):
        transport.write(frame)
    assert inner.writes == []
    assert transport.get_write_buffer_size() == 16
    services.end_turn()
    assert inner.writes == [b"methodheaderbody"]
    transport.write(b"ack")
    services.end_turn()
    assert inner.writes == [b"methodheaderbody", b"ack"]
    assert len(services.due) == 0


def test_write_buffer_size_counts_both() -> None:
    transport, inner, _ = batching()
    inner.buffered = 10
    transport.write(b"abc")
    assert transport.get_write_buffer_size() == 13


def test_abort_drops_what_was_collected() -> None:
    transport, inner, services = batching()
    transport.write(b"publish")
    transport.abort()
    services.end_turn()
    assert inner.writes == [] and inner.aborted
    assert transport.get_write_buffer_size() == 0


def test_drop_when_the_connection_went() -> None:
    transport, inner, services = batching()
    transport.write(b"publish")
    transport.drop()
    services.end_turn()
    assert inner.writes == []
    assert transport.get_protocol() == "protocol"

"""Fuzzing: random and mutated byte streams, in random chunkings, never raise anything but the
codec's own ``FrameError`` (from lazily decoded arguments/properties) and never hang.

Every run also checks the decoder's accounting: events tile the stream -- each frame, protocol
header or problem starts where the previous one ended, and frames plus skipped bytes add up to
every byte fed (plus the bytes reported lost).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mqctl.wire import (
    PROTOCOL_HEADER,
    CutFrame,
    DecodeProblem,
    Event,
    FrameDecoder,
    FrameError,
    HeaderFrame,
    MethodFrame,
    ProtocolHeader,
    encode_body,
    encode_header,
    encode_heartbeat,
    encode_method,
)

FUZZ = settings(max_examples=300, deadline=None)


def _valid_stream() -> bytes:
    headers = {
        "x-str": "v",
        "x-int": 7,
        "x-dec": decimal.Decimal("1.5"),
        "x-ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "x-list": [1, "a", None, b"\x00"],
        "x-nested": {"k": True},
    }
    parts = [
        PROTOCOL_HEADER,
        encode_method(0, "Connection.StartOk", client_properties={"product": "fuzz"}),
        encode_method(0, "Connection.TuneOk", channel_max=100, frame_max=131072, heartbeat=10),
        encode_method(1, "Queue.Declare", queue="q", arguments={"x-max-length": 10}),
    ]
    for n in range(4):
        parts += [
            encode_method(1, "Basic.Publish", exchange="ex", routing_key=f"rk.{n}"),
            encode_header(1, 60, 12, {"content_type": "text/plain", "headers": headers}),
            encode_body(1, b"hello world!"),
            encode_heartbeat(),
            encode_method(1, "Basic.Ack", delivery_tag=n, multiple=n % 2 == 1),
        ]
    return b"".join(parts)


VALID = _valid_stream()


def span(event: Event) -> int:
    """Bytes of the stream an event stands for."""
    if isinstance(event, DecodeProblem):
        return event.skipped_bytes
    if isinstance(event, ProtocolHeader):
        return len(event.raw)
    return event.size + 8


def exercise(event: Event) -> None:
    """Decode everything lazily decodable; only FrameError may come out."""
    try:
        if isinstance(event, MethodFrame):
            _ = event.name
            event.args_or_problem()
        elif isinstance(event, HeaderFrame):
            _ = event.class_name
            event.properties_or_problem()
        elif isinstance(event, ProtocolHeader):
            _ = event.description
    except FrameError:
        pass


def run(chunks: list[bytes], resync: bool, gap_at: int | None = None, lost: int = 0) -> None:
    decoder = FrameDecoder(resync=resync)
    events: list[Event] = []
    fed = 0
    for index, chunk in enumerate(chunks):
        if index == gap_at:
            decoder.gap(lost)
            fed += lost
        decoder.feed(chunk)
        fed += len(chunk)
        before = len(events)
        events.extend(decoder)
        # each call makes progress or stops: never more events than bytes (plus a few markers)
        assert len(events) - before <= 2 * len(chunk) + 4
    final = decoder.finish()
    if final is not None:
        events.append(final)
    position = 0
    for event in events:
        exercise(event)
        if isinstance(event, DecodeProblem) and event.skipped_bytes == 0:
            assert event.offset == position  # a report about what follows; skips nothing yet
            continue
        assert event.offset == position, (event, position)
        position += span(event)
    assert position == fed


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(0, 10_000), max_size=8), st.booleans())
def test_random_bytes(data: bytes, cuts: list[int], resync: bool) -> None:
    run(split(data, cuts), resync)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        if not out:
            break
        at = where % len(out)
        if kind == 0:
            out[at] = value
        elif kind == 1:
            out.insert(at, value)
        elif kind == 2:
            del out[at]
        else:
            del out[at : at + value]
    return bytes(out)


edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6
)


@FUZZ
@given(edits, st.lists(st.integers(0, 10**6), max_size=10), st.booleans())
def test_mutated_valid_streams(
    changes: list[tuple[int, int, int]], cuts: list[int], resync: bool
) -> None:
    run(split(_mutate(VALID, changes), cuts), resync)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=10),
    st.integers(0, 9),
    st.integers(0, 3000),
)
def test_gaps_anywhere(cuts: list[int], gap_at: int, lost: int) -> None:
    chunks = split(VALID * 2, cuts)
    run(chunks, resync=False, gap_at=gap_at % len(chunks), lost=lost)


def test_unmutated_stream_decodes_cleanly() -> None:
    decoder = FrameDecoder()
    decoder.feed(VALID)
    events = list(decoder)
    assert not any(isinstance(e, DecodeProblem) for e in events)
    frames = [e for e in events if not isinstance(e, (DecodeProblem, CutFrame))]
    assert len(frames) == len(events)
    assert b"".join(e.to_bytes() for e in frames) == VALID
    assert decoder.finish() is None

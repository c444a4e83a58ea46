"""Differential tests: mqctl, pika and pamqp decode the same bytes to the same methods and values.

Known deviations of the peers, each handled where it matters below:

- pika decodes ``f`` and ``d`` table values with ``long(...)``, truncating floats to ints, and
  cannot encode floats at all: the generated tables here carry no floats for pika.
- pika leaves long-string method arguments (``mechanisms``, ``response``...) as bytes; they are
  compared after UTF-8 decoding.
- pika names ``global`` ``global_qos``, pamqp ``global_``; pamqp names ``type`` ``exchange_type``
  (Exchange.Declare) and the ``type`` property ``message_type``: arguments are compared by position.
- pamqp reads a decimal's value as unsigned 32-bit (RabbitMQ's clients and mqctl: signed), reads
  timestamps above 2**32 as milliseconds, returns byte arrays as ``bytearray``, rejects non-UTF-8
  short strings, and validates exchange/queue names: its cases use non-negative decimals, 32-bit
  timestamps and plain names.
- pika cannot decode Connection.UpdateSecret at all (its ``__init__`` needs arguments that
  ``decode_frame`` does not pass): that method is compared with pamqp only.
- pamqp has no Access class (Access.Request/RequestOk, deprecated in 0-9-1 but in the spec):
  those are compared with pika only.
- pika returns 64-bit table integers as its own ``long`` subclass of int: compared as ints.
- pamqp reads longlong method arguments (delivery tags) as signed: its cases stay below 2**63.
- pika encodes a decimal's normalised form (``1.50`` as 15 with scale 1; mqctl sends 150 with
  scale 2, keeping the exponent for exact round trips): generated decimals are normalised.
- Both peers build decimals as ``raw * 10**-scale`` (same value, possibly another exponent):
  decimals are compared by value.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pamqp.base
import pamqp.header
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp.frame import unmarshal
from pika.frame import decode_frame

from mqctl.wire import (
    METHODS,
    PROPERTIES,
    FrameDecoder,
    HeaderFrame,
    MethodFrame,
    MethodSpec,
    encode_header,
    encode_method,
)
from tests.test_codec_golden import GOLDEN_HEADER, GOLDEN_METHODS

# pamqp warns when it builds a command that 0-9-1 deprecates (Channel.Flow...): expected here
pytestmark = pytest.mark.filterwarnings("ignore:This command is deprecated:DeprecationWarning")

NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_", max_size=30)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PIKA_CANNOT_DECODE = {"Connection.UpdateSecret"}


def _normal_decimal(scale: int, raw: int) -> decimal.Decimal:
    # pika encodes a decimal's normalised form (1.50 as 15 scale 1); mqctl keeps the exponent
    # (150 scale 2) so that decoding and re-encoding is exact. Both are valid; compare the former.
    value = decimal.Decimal(raw).scaleb(-scale).normalize()
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number
    return value if exponent <= 0 else decimal.Decimal(int(value))


def scalar(for_pamqp: bool) -> st.SearchStrategy[Any]:
    decimal_raw = st.integers(0 if for_pamqp else -(2**31), 2**31 - 1)
    seconds = st.integers(0, 2**32 - 1 if for_pamqp else 253402300799)
    return st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.text(max_size=20),
        st.binary(max_size=10),
        st.none(),
        st.builds(_normal_decimal, st.integers(0, 9), decimal_raw),
        st.builds(lambda s: EPOCH + dt.timedelta(seconds=s), seconds),
    )


def tables(for_pamqp: bool) -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        scalar(for_pamqp),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    )
    return st.dictionaries(st.text(max_size=10), values, max_size=5)


def arguments(spec: MethodSpec, for_pamqp: bool) -> st.SearchStrategy[dict[str, Any]]:
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "bit": st.booleans(),
        "octet": st.integers(0, 255),
        "short": st.integers(0, 2**16 - 1),
        "long": st.integers(0, 2**32 - 1),
        "longlong": st.integers(0, 2**63 - 1 if for_pamqp else 2**64 - 1),
        "shortstr": NAME,
        "longstr": st.text(max_size=30),
        "table": tables(for_pamqp),
    }
    return st.fixed_dictionaries({arg.name: by_type[arg.amqp_type] for arg in spec.arguments})


def same(ours: Any, theirs: Any) -> bool:
    """Equal, allowing the peers' documented representation differences."""
    if isinstance(theirs, bytes | bytearray) and isinstance(ours, str):
        return bytes(theirs) == ours.encode()
    if isinstance(theirs, bytearray):
        return isinstance(ours, bytes) and bytes(theirs) == ours
    if isinstance(ours, decimal.Decimal):
        return isinstance(theirs, decimal.Decimal) and ours == theirs
    if isinstance(ours, dict):
        return (
            isinstance(theirs, dict)
            and list(ours) == list(theirs)
            and all(same(ours[k], theirs[k]) for k in ours)
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(ours) == len(theirs)
            and all(same(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if isinstance(ours, int) and not isinstance(ours, bool):  # pika returns its own `long` subclass
        return isinstance(theirs, int) and not isinstance(theirs, bool) and ours == theirs
    return type(ours) is type(theirs) and bool(ours == theirs)


def ours_decode(raw: bytes) -> MethodFrame | HeaderFrame:
    decoder = FrameDecoder()
    decoder.feed(raw)
    (frame,) = list(decoder)
    assert isinstance(frame, MethodFrame | HeaderFrame)
    return frame


def check_method_against_peers(raw: bytes, check_pamqp: bool = True) -> None:
    frame = ours_decode(raw)
    assert isinstance(frame, MethodFrame)
    ours = list(frame.args.values())

    if frame.name not in PIKA_CANNOT_DECODE:
        consumed, pika_frame = decode_frame(raw)
        assert consumed == len(raw)
        assert frame.name == pika_frame.method.NAME
        theirs = list(vars(pika_frame.method).values())
        assert len(theirs) == len(ours)
        for mine, pika_value in zip(ours, theirs, strict=True):
            assert same(mine, pika_value), (frame.name, mine, pika_value)

    if check_pamqp and not frame.name.startswith("Access."):
        consumed, channel, pamqp_frame = unmarshal(raw)
        assert isinstance(pamqp_frame, pamqp.base.Frame)
        assert (consumed, channel) == (len(raw), frame.channel)
        assert pamqp_frame.name == frame.name
        theirs = [getattr(pamqp_frame, slot) for slot in pamqp_frame.__slots__]
        for mine, pamqp_value in zip(ours, theirs, strict=True):
            assert same(mine, pamqp_value), (frame.name, mine, pamqp_value)


@pytest.mark.parametrize(
    ("name", "args", "golden"), GOLDEN_METHODS, ids=[g[0] for g in GOLDEN_METHODS]
)
def test_golden_methods_decode_alike(name: str, args: dict[str, Any], golden: str) -> None:
    check_method_against_peers(bytes.fromhex(golden))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_methods_decode_alike_in_pika(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(METHODS))
    args = data.draw(arguments(spec, for_pamqp=False))
    check_method_against_peers(encode_method(1, spec.name, args), check_pamqp=False)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_methods_decode_alike_in_pamqp(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(METHODS))
    args = data.draw(arguments(spec, for_pamqp=True))
    check_method_against_peers(encode_method(1, spec.name, args))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_pika_encodes_what_mqctl_encodes(data: st.DataObject) -> None:
    import pika.frame
    import pika.spec

    spec = data.draw(st.sampled_from(METHODS))
    args = data.draw(arguments(spec, for_pamqp=False))
    class_name, method_name = spec.name.split(".")
    positional = [args[arg.name] for arg in spec.arguments]  # pika's names differ; order does not
    method = getattr(getattr(pika.spec, class_name), method_name)(*positional)
    raw = pika.frame.Method(1, method).marshal()
    assert raw == encode_method(1, spec.name, args)


PAMQP_PROPERTY_NAMES = {"type": "message_type"}


def check_header_against_peers(raw: bytes) -> None:
    frame = ours_decode(raw)
    assert isinstance(frame, HeaderFrame)
    ours = frame.properties

    consumed, pika_frame = decode_frame(raw)
    assert consumed == len(raw) and pika_frame.body_size == frame.body_size
    pika_props = {k: v for k, v in vars(pika_frame.properties).items() if v is not None}
    if "timestamp" in pika_props:  # pika leaves timestamps as POSIX seconds
        pika_props["timestamp"] = EPOCH + dt.timedelta(seconds=pika_props["timestamp"])
    assert same(ours, pika_props) or sorted(ours) == sorted(pika_props)
    for name, value in ours.items():
        assert same(value, pika_props[name]), (name, value, pika_props[name])

    consumed, _channel, pamqp_frame = unmarshal(raw)
    assert isinstance(pamqp_frame, pamqp.header.ContentHeader)
    assert pamqp_frame.body_size == frame.body_size
    for name, value in ours.items():
        theirs = getattr(pamqp_frame.properties, PAMQP_PROPERTY_NAMES.get(name, name))
        assert same(value, theirs), (name, value, theirs)


def test_golden_header_decodes_alike() -> None:
    check_header_against_peers(GOLDEN_HEADER)


@st.composite
def pamqp_safe_properties(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, st.SearchStrategy[Any]] = {
        "shortstr": NAME,
        "octet": st.integers(0, 255),
        "table": tables(for_pamqp=True),
        "timestamp": st.builds(
            lambda s: EPOCH + dt.timedelta(seconds=s), st.integers(0, 2**32 - 1)
        ),
    }
    chosen = draw(st.sets(st.sampled_from(PROPERTIES[60])))
    return {p.name: draw(values[p.amqp_type]) for p in PROPERTIES[60] if p in chosen}


@settings(max_examples=150, deadline=None)
@given(pamqp_safe_properties(), st.integers(0, 2**63))
def test_random_headers_decode_alike(props: dict[str, Any], body_size: int) -> None:
    check_header_against_peers(encode_header(1, 60, body_size, props))

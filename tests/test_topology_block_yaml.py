"""Offline, property-based: the plain block YAML line reader (block_yaml.py) reads what libyaml
reads (values, types, positions, texts as written, problems and refusals), or steps aside.

Three readings of each generated document are compared: `parse_text` as mqctl runs it (the line
reader first), with the line reader off (libyaml's events), and with both fast readings off
(libyaml's composer and the node walker, the reference). Topology-shaped documents also go
through `read_topology` from a file, with and without the line reader, for the problems mqctl
words and the objects it builds. MQCTL_HYPOTHESIS_EXAMPLES sets how hard to try (a few seconds
by default; tens of thousands of examples find more).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqctl.topology import loader as _loader
from mqctl.topology.validate import read_topology
from tests.test_topology_input import _located

NAME = "t.yaml"
ENV = {"TTL": "7", "Q": "q.env", "EMPTY": ""}
EXAMPLES = int(os.environ.get("MQCTL_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Plain scalars as people write them, with those YAML 1.1 types or rewrites (and mqctl refuses
# or keeps as written), and those that are not plain scalars at all.
SCALARS = [
    "q.1", "orders", "a b", "a#b", "a #b", "a # b", "x: y", "x:", ":x", "x:y", "-x", "- x", "-",
    "-3", "+5", "?x", "? x", "&a", "*a", "!x", "!!str 5", "|", ">-", "%x", "@x", "`x", "[1, 2]",
    "{a: 1}", "{}", "[]", "{ }", "[] x", "yes", "no", "on", "off", "y", "n", "Yes", "NO", "true",
    "False", "~", "null", "Null", "0x10", "12:30", "190:20:30", "017", "05", "0o17", "0b101",
    "1_000", "1.10", "1e3", "1.5e3", "6.8523015e+5", ".inf", "-.inf", ".nan", ".NaN", "0",
    "2024-01-01", "2024-13-45", "2001-12-14t21:59:43.10-05:00", "=", "<<", "<x", "...", "---",
    "--- x", "é", "amqp://u@h:5672/%2f", "k.0.#", "${TTL}", "${TTL:-100}", "${MISSING}",
    "${MISSING:-5}", "$$", "a$b", "${Q}", "${EMPTY:-yes}", "'quoted'", "'it''s'", "'a' b",
    "'a'#", "'unclosed", '"dq"', '"a\\tb"', '"a\\"b"', '"it\'s"', "'$$'", "'${TTL}'",
    '"${MISSING}"', "''", '""', "' '", "'a # b'", "x\\y", "a\x01", "a\x7f", "a\x9f", "a\ufffe",
    "a\x85b", "a\u2028b", "a\tb", "\ufeffa", "a\xa0", "\xa0a", "k" * 1030,
]  # fmt: skip
KEYS = [
    "name", "vhost", "type", "durable", "auto_delete", "arguments", "x-queue-type",
    "x-max-length", "routing_key", "from", "to_queue", "n1", "no_x", "on_x", "t", "_k", "a.b",
    "a-b", "yes", "no", "on", "Off", "y", "null", "~", "true", "<<", "5", "05", "0x10", "12:30",
    "a b", "é", "'q'", '"q"', "? k", "-k", "k" * 1030, "k" * 1010, "k" * 1000, "k" * 1001, "x${TTL}", "a:b", "a\x01",
    "a: b", "a:", " a",
]  # fmt: skip
SECTIONS = ["queues", "exchanges", "bindings", "policies", "vhosts", "users", "parameters"]
FIELDS = [
    "name", "vhost", "type", "durable", "auto_delete", "internal", "exclusive", "arguments",
    "from", "to_queue", "to_exchange", "routing_key", "pattern", "apply_to", "definition",
    "priority", "max_length", "message_ttl", "tags", "component", "value", "limits", "password",
]  # fmt: skip
TRICKY = "a1: #-'\"{}[],&*!|>?%@`\\~=<.$\t\x01\x7f\x85\ufeffé\n\r"

Node = Any  # a scalar as written (str), or ("map", [(key, Node)]) / ("list", [Node])


def _quoted(text: str, double: bool) -> str:
    if double:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + text.replace("'", "''") + "'"


# What the line reader reads, and everything else; documents are drawn clean, with a few dirty
# leaves, or dirty, so that both its readings and its stepping aside get compared.
NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,6}", fullmatch=True)
CLEAN_SCALARS = [
    "q.1", "a b", "a#b", "x:y", "-x", "-3", "+5", "yes", "no", "on", "Off", "y", "~", "null",
    "true", "0x10", "12:30", "190:20:30", "017", "05", "0o17", "0b101", "1_000", "1.10", "1e3",
    "6.8523015e+5", ".inf", "-.nan", "0", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "...",
    "---", "é", "amqp://u@h:5672/%2f", "k.0.#", "${TTL}", "${TTL:-100}", "${MISSING:-5}", "$$",
    "a$b", "${EMPTY:-yes}", "'quoted'", "'a # b'", '"dq"', "''", '""', "' '", "'${TTL}'", "{}",
    "[]", "x\\y", "a\xa0", "=x", "<x", "%", "a'b",
]  # fmt: skip
clean_scalars = st.one_of(
    NAMES, st.sampled_from(CLEAN_SCALARS), st.integers(-(2**65), 2**65).map(str)
)
dirty_scalars = st.one_of(
    st.sampled_from(SCALARS),
    st.text(alphabet=TRICKY, min_size=1, max_size=8),
    st.builds(_quoted, st.text(alphabet=TRICKY, max_size=6), st.booleans()),
    st.just(""),  # an empty value (null)
)
clean_keys = st.one_of(NAMES, st.sampled_from(["x-queue-type", "n1", "no_x", "t", "_k", "a.b"]))
dirty_keys = st.one_of(
    st.sampled_from(KEYS), st.text(alphabet="abn0:_- .'#$", min_size=1, max_size=5)
)
LEAVES = {
    "clean": (clean_keys, clean_scalars),
    "few": (
        st.one_of(*[clean_keys] * 9, dirty_keys),
        st.one_of(*[clean_scalars] * 9, dirty_scalars),
    ),
    "dirty": (st.one_of(clean_keys, dirty_keys), st.one_of(clean_scalars, dirty_scalars)),
}


def _tree(
    key_strategy: st.SearchStrategy[str], scalars: st.SearchStrategy[str]
) -> st.SearchStrategy[Node]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.tuples(st.just("map"), st.lists(st.tuples(key_strategy, inner), max_size=4)),
            st.tuples(st.just("list"), st.lists(inner, max_size=4)),
        ),
        max_leaves=16,
    )


def _document(
    keys: st.SearchStrategy[str], scalars: st.SearchStrategy[str]
) -> st.SearchStrategy[Node]:
    tree = _tree(keys, scalars)
    return st.one_of(
        st.tuples(st.just("map"), st.lists(st.tuples(keys, tree), min_size=1, max_size=6)),
        st.tuples(st.just("list"), st.lists(tree, min_size=1, max_size=4)),
        scalars,
    )


trees = st.sampled_from(list(LEAVES)).flatmap(lambda kind: _document(*LEAVES[kind]))


def _topology(kind: str, section: str) -> st.SearchStrategy[Node]:
    keys, scalars = LEAVES[kind]
    arguments = st.tuples(
        st.just("map"),
        st.lists(
            st.tuples(
                st.sampled_from(["x-max-length", "x-queue-type", "x-l"]), _tree(*LEAVES[kind])
            )
        ),
    )
    value = st.one_of(scalars, scalars, arguments, _tree(keys, scalars))
    entry = st.tuples(st.just("map"), st.lists(st.tuples(st.sampled_from(FIELDS), value)))
    return st.tuples(
        st.just("map"),
        st.lists(
            st.one_of(
                st.tuples(st.just(section), st.tuples(st.just("list"), st.lists(entry))),
                st.tuples(st.sampled_from(["vhost", *SECTIONS]), _tree(keys, scalars)),
            ),
            min_size=1,
            max_size=4,
        ),
    )


topologies = st.tuples(st.sampled_from(list(LEAVES)), st.sampled_from(SECTIONS)).flatmap(
    lambda kind_section: _topology(*kind_section)
)


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    """How a document is laid out: indentation, spacing, comments."""
    return {
        "step": draw(st.integers(1, 4)),
        "compact": draw(st.booleans()),  # a list under a key at the key's own indentation
        "after_colon": draw(st.sampled_from([" ", " ", "  ", "   "])),
        "comments": draw(st.lists(st.sampled_from(["", "", " # c", " #c: d", "  # $x"]))),
        "trailing": draw(st.sampled_from(["", "", " ", "  "])),
    }


def render(node: Node, layout: dict[str, Any]) -> str:
    comments: list[str] = layout["comments"] or [""]
    trailing: str = layout["trailing"]
    count = iter(range(1 << 30))

    def tail() -> str:
        return comments[next(count) % len(comments)] + trailing

    def inline(value: Node) -> str | None:
        if isinstance(value, str):
            return value
        if not value[1]:
            return "{}" if value[0] == "map" else "[]"
        return None

    def lines(node: Node, indent: int, first: str) -> Iterator[str]:
        """The lines of a block node at `indent`, the first starting with `first` (after a
        `- `) instead of the indentation."""
        pad = " " * indent
        for index, item in enumerate(node[1]):
            lead = first if index == 0 else pad
            if node[0] == "map":
                key, value = item
                written = inline(value)
                if written is not None:
                    space = layout["after_colon"] if written else ""
                    yield f"{lead}{key}:{space}{written}{tail()}"
                    continue
                yield f"{lead}{key}:{tail()}"
                compact = value[0] == "list" and layout["compact"]
                below = indent if compact else indent + layout["step"]
                yield from lines(value, below, " " * below)
                continue
            written = inline(item)
            if written is not None:
                yield f"{lead}- {written}{tail()}"
                continue
            yield from lines(item, indent + 2, lead + "- ")

    if isinstance(node, str):
        return node + "\n"
    return "".join(line + "\n" for line in lines(node, 0, ""))


@st.composite
def documents(draw: st.DrawFn, trees: st.SearchStrategy[Node]) -> str:
    text = render(draw(trees), draw(layouts()))
    for _ in range(
        draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))
    ):  # a few edits of the kind that trip readers up
        text = draw(st.sampled_from(EDITS))(text, draw(st.integers(0, 1 << 16)))
    return text


def _at(text: str, seed: int) -> int:
    return seed % (len(text) + 1)


def _line_start(text: str, seed: int) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return starts[seed % len(starts)]


EDITS: list[Callable[[str, int], str]] = [
    lambda t, s: t[: _at(t, s)] + TRICKY[s % len(TRICKY)] + t[_at(t, s) :],
    lambda t, s: t[: _at(t, s)] + t[_at(t, s) + 1 :],
    lambda t, s: t[: _line_start(t, s)] + " " * (s % 5) + "# a comment\n" + t[_line_start(t, s) :],
    lambda t, s: t[: _line_start(t, s)] + " " * (s % 3) + t[_line_start(t, s) :],
    lambda t, s: t[: _line_start(t, s)] + "\n" + t[_line_start(t, s) :],
    lambda t, s: t.replace("\n", "\r\n"),
    lambda t, s: "\ufeff" + t,
    lambda t, s: ["---\n", "--- # doc\n", "%YAML 1.1\n---\n", "# c\n---\n"][s % 4] + t,
    lambda t, s: t + ["...\n", "---\n", "---\nb: 1\n", "# end"][s % 4],
    lambda t, s: t.rstrip("\n"),
    lambda t, s: t[: _line_start(t, s)] + t[_line_start(t, s) :].replace("\n", " ", 1),
    lambda t, s: t[: _line_start(t, s)] + "\t" + t[_line_start(t, s) :],
]


def _no_block(text: str, builder: Any) -> None:
    return None


@contextmanager
def _readers(*, block: bool, events: bool) -> Iterator[None]:
    with ExitStack() as stack:
        if not block:
            stack.enter_context(mock.patch.object(_loader, "_read_block", _no_block))
        if not events:
            stack.enter_context(
                mock.patch.object(
                    _loader._EventBuilder, "build", lambda self, text: _loader._FALLBACK
                )
            )
        yield


def reading(text: str, *, block: bool = True, events: bool = True) -> object:
    """What parse_text gives: the located value and the problems worded, or what it raised."""
    problems: list[_loader.Problem] = []
    with _readers(block=block, events=events):
        try:
            value = _loader.parse_text(text, NAME, ENV, problems)
        except Exception as exc:  # compared, not hidden: each reading must agree
            return ("raised", type(exc).__name__, str(exc))
    return (_located(value), [str(p) for p in problems])


def read_block(text: str) -> object:
    return _loader._read_block(text, _loader._EventBuilder(NAME, ENV, []))


def assert_same_readings(text: str) -> None:
    reference = reading(text, block=False, events=False)
    assert reading(text, block=False) == reference, "libyaml's events differ from its nodes"
    assert reading(text) == reference, "the line reader differs from libyaml"


@SETTINGS
@given(documents(trees))
def test_any_block_document_reads_as_libyaml_reads_it(text: str) -> None:
    assert_same_readings(text)


@SETTINGS
@given(documents(topologies))
def test_topology_documents_read_as_libyaml_reads_them(text: str) -> None:
    assert_same_readings(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / NAME
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        assert _validated(path) == _validated(path, block=False)


def _validated(path: Path, *, block: bool = True) -> object:
    with _readers(block=block, events=True):
        try:
            topology, problems = read_topology([path], ENV)
        except Exception as exc:  # compared, not hidden
            return ("raised", type(exc).__name__, str(exc))
    return (repr(list(topology)), topology.default_vhost, [str(p) for p in problems])


# Found by the tests above (or by reading block_yaml.py), kept as plain cases.
DIVERGED = [
    # A `$` in a comment had the value's text as written taken from the last scalar typed: the
    # queue below was named "n2", not "5".
    "n1: 5\nn2: 5 # $\n",
    "queues:\n- name: 7\n  type: classic\n- name: 7 # costs $5\n",
    # Characters libyaml refuses (C0/C1 controls, DEL, U+FFFE): the line reader took them.
    "a: \x01\n",
    "a: x\x7f\n",
    "a: \x00\n",
    "a: \x9f\n",
    "a: \ufffe\n",
    "a: x\x0c\n",
    "- 'a\x1b'\n",
    "# \x01\na: 1\n",
    # An implicit key longer than 1024 characters is not a key to libyaml.
    "k" * 1030 + ": 1\n",
    "k" * 1030 + ": x\n",
    "a: 1\n" + "k" * 1030 + ": x\n",
    "- " + "k" * 1030 + ": 1\n",
    # A plain scalar YAML 1.1 types but cannot construct: the fast readings raised ValueError
    # (validate: "internal error") before libyaml's syntax error or the walker's problem.
    "x-queue-type: 2024-13-45\n A: A\n",
    "a: 2024-13-45\n",
    "- =\n",
    "a: ${X:-2024-02-30}\n",
]


@pytest.mark.parametrize("text", DIVERGED)
def test_what_diverged_reads_as_libyaml_reads_it(text: str) -> None:
    assert_same_readings(text)


def test_the_line_reader_still_reads_the_common_case() -> None:
    """Stepping aside is always correct: check that the fast path is still taken."""
    text = "vhost: v\nqueues:\n- name: q.1 # c\n  durable: no\n  max_length: 10\n"
    assert read_block(text) is not None
    assert_same_readings(text)

"""The block YAML most topology files are written in, read straight from its lines.

`key: value` lines, `- ` entries, plain scalars, quotes without escapes, and `{}` / `[]`: what
`yaml.safe_dump` writes and what people type. For a file of 90,000 objects this is four times
faster than libyaml's events taken through Python. Anything else (flow collections, anchors,
aliases, merge keys, tags, block scalars, comments after a value, values over several lines, an
empty value, tabs, several documents) makes `read_block` return None, and the caller reads the
file with libyaml. The scalars are typed by the caller (PyYAML's resolver), so `yes`, `017` and
`12:30` mean here what they mean there; tests/test_topology_input.py checks that both readings
give the same values, positions and texts as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mqctl.topology.located import LList, LMap
from mqctl.topology.model import Loc

# (text, plain, line, column) -> the value, or NOT_BLOCK; sets what `raw` returns.
Scalar = Callable[[str, bool, int, int], Any]
NOT_BLOCK = object()

# A key (before `:` and a space or the line's end) of at most 1,000 characters: libyaml takes
# no implicit key over 1,024. Checked once per distinct key, not per line (keys repeat).
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,999}")
# Characters YAML reads otherwise (tab, CR, BOM, NEL, LS, PS) or refuses (C0 and C1 controls,
# DEL, U+FFFE/U+FFFF): any of them anywhere, and libyaml reads the file. The class compiles in 7
# ms (a set over all of Unicode): only for a file that is not ASCII, which the first one checks.
_NEVER_ASCII = re.compile("[^\n\x20-\x7e]")
_NEVER = "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")


def _comment_or_nothing(tail: str) -> bool:
    return not tail or (tail[0] == " " and tail.lstrip(" ")[:1] in ("", "#"))


class _Open:
    """An open block mapping or sequence: its indentation, and for a mapping the key whose
    value is a block still to come (`key:` at the end of a line)."""

    __slots__ = ("indent", "is_list", "node", "pending")

    def __init__(self, indent: int, node: Any, is_list: bool) -> None:
        self.indent = indent
        self.node = node
        self.is_list = is_list
        self.pending: str | None = None


def read_block(
    text: str, name: str, scalar: Scalar, resolvable: frozenset[str], raw: Callable[[], str]
) -> Any:
    """The file's located values, or None when it is not plain block YAML (see the module).

    `resolvable`: the first characters with which a plain scalar may be something other than a
    text (PyYAML's implicit resolvers); others are taken as texts without asking.
    """
    if (_NEVER_ASCII if text.isascii() else re.compile(_NEVER)).search(text):
        return None
    stack: list[_Open] = []
    root: Any = None
    typed: dict[str, Any] = {}  # plain scalar -> its value
    slow = _INDICATORS | resolvable | {" "}  # first characters of values that take put()
    plain_keys: dict[str, bool] = {}  # key -> whether YAML reads it as a text
    key_names: dict[str, bool] = {}  # text before a `:` -> whether it is a key block YAML takes

    def value_of(written: str, line: int, column: int) -> Any:
        """A value as written after `key: ` or `- ` (a comment after it allowed)."""
        first = written[0]
        if first == "'" or first == '"':
            close = written.find(first, 1)
            if close < 0 or not _comment_or_nothing(written[close + 1 :]):
                return NOT_BLOCK
            inner = written[1:close]
            if "\\" in inner:
                return NOT_BLOCK  # an escape, or a quote doubled ('it''s'): not worth it here
            return scalar(inner, False, line, column) if "$" in inner else inner
        if written[:2] in ("{}", "[]") and _comment_or_nothing(written[2:]):
            return (LMap if first == "{" else LList)(Loc(name, line, column))
        cut = written.find(" #")
        if cut >= 0:
            written = written[:cut]
        written = written.rstrip(" ")
        if first in _INDICATORS and not (first == "-" and written[1:2] not in ("", " ")):
            return NOT_BLOCK
        if ": " in written or written[-1] == ":":
            return NOT_BLOCK
        if "$" in written:
            return scalar(written, True, line, column)
        if first in resolvable:
            # Typed by the text alone: each distinct text asks the resolver once.
            value = typed.get(written, NOT_BLOCK)
            if value is NOT_BLOCK:
                value = typed[written] = scalar(written, True, line, column)
            return value
        return written

    def put(owner: _Open, key: str, written: str | None, line: int, column: int) -> bool:
        """One `key: value` (or `key:`) line into the open mapping; False: not block YAML.

        Given the open mapping rather than taking it from `stack`: compiled (mypyc), what the
        nested functions use lives in one environment object that they and it refer to, a
        cycle, and the stack would keep the whole document alive until the collector runs."""
        mapping = owner.node
        if key[0] in resolvable:
            text_key = plain_keys.get(key)
            if text_key is None:
                text_key = plain_keys[key] = isinstance(scalar(key, True, line, column), str)
            if not text_key:
                return False  # `yes:`, `null:`, `<<:`: the node-based reader words or merges it
        if key in mapping:
            return False  # given twice: the node-based reader words the error
        mapping.key_pos[key] = (line, column)
        value_text = written or ""
        if value_text[:1] == " ":
            value_text = value_text.lstrip(" ")
        if not value_text or value_text[0] == "#":
            owner.pending = key  # its value is the block on the next lines
            return True
        value_column = column + len(key) + 2 + len(written or "") - len(value_text)
        value = value_of(value_text, line, value_column)
        if value is NOT_BLOCK:
            return False
        mapping[key] = value
        mapping.value_pos[key] = (line, value_column)
        if type(value) is not str and not isinstance(value, LMap | LList):
            # As written, the comment cut: raw() is the last scalar typed, this one only when it
            # had a ${VAR} (typed texts are cached, and a `$` in a comment is no ${VAR}).
            written_value = value_text.split(" #")[0].rstrip(" ")
            mapping.raw[key] = raw() if "$" in written_value else written_value
        return True

    for line, content in enumerate(text.split("\n"), 1):
        stripped = content.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if stripped[:3] in ("---", "...") or stripped[0] == "%":
            return None
        indent = len(content) - len(stripped)
        entry = stripped[:2] == "- "
        if stack and stack[-1].pending is not None:
            owner = stack[-1]
            key = owner.pending
            owner.pending = None
            if not (indent > owner.indent or (indent == owner.indent and entry)):
                return None  # an empty value (null): libyaml places it otherwise
            node: Any = (
                LList(Loc(name, line, indent + 1)) if entry else LMap(Loc(name, line, indent + 1))
            )
            owner.node[key] = node
            owner.node.value_pos[key] = (line, indent + 1)
            stack.append(_Open(indent, node, entry))
        while stack and (
            indent < stack[-1].indent
            or (indent == stack[-1].indent and stack[-1].is_list and not entry)
        ):
            stack.pop()
        if not stack:
            if root is not None:
                return None
            root = (
                LList(Loc(name, line, indent + 1)) if entry else LMap(Loc(name, line, indent + 1))
            )
            stack.append(_Open(indent, root, entry))
        top = stack[-1]
        if top.indent != indent:
            return None  # a value going on over lines, or bad indentation
        if top.is_list:
            if not entry:
                return None
            rest, column = stripped[2:], indent + 3
        else:
            rest, column = stripped, indent + 1
        # `key:` or `key: written`, else no key (the key can hold no colon: the first ends it)
        colon = rest.find(":")
        key = rest[:colon] if colon > 0 else ""
        written: str | None = None
        if key:
            after = rest[colon + 1 : colon + 2]
            if after == " ":
                written = rest[colon + 2 :]
            elif after:
                key = ""  # `a:b` is a text
        if key:
            named = key_names.get(key)
            if named is None:
                named = key_names[key] = _KEY_NAME.fullmatch(key) is not None
            if not named:
                key = ""
        if not key:
            if not top.is_list or not rest or rest[0] in " #":
                return None
            value = value_of(rest, line, column)
            if value is NOT_BLOCK:
                return None
            top.node.append(value)
            top.node.pos.append((line, column))
            continue
        if top.is_list:
            mapping = LMap(Loc(name, line, column))  # `- key: ...` opens a mapping
            top.node.append(mapping)
            top.node.pos.append((line, column))
            stack.append(_Open(column - 1, mapping, False))
        else:
            mapping = top.node
        if (
            written  # the common line, `key: text` or `key: 5`, without a call
            and written[-1] not in ": "
            and "$" not in written
            and " #" not in written
            and ": " not in written
            and (key[0] not in resolvable or plain_keys.get(key))
            and key not in mapping
        ):
            first = written[0]
            if first not in slow:
                value = written
            elif first in resolvable and written in typed:
                # A plain scalar typed before (put() found it so): the same text, the same value.
                value = typed[written]
                if value is NOT_BLOCK:
                    return None
                if type(value) is not str:
                    mapping.raw[key] = written
            elif not put(stack[-1], key, written, line, column):
                return None
            else:
                continue
            mapping[key] = value
            mapping.key_pos[key] = (line, column)
            mapping.value_pos[key] = (line, column + len(key) + 2)
        elif not put(stack[-1], key, written, line, column):
            return None
    if stack and stack[-1].pending is not None:
        return None  # the last value is empty
    return root

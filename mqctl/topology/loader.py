"""Reading topology files: YAML (and JSON) with the line and column of every key and value.

`load_documents()` expands files and directories, parses each into `LMap`/`LList` values that
remember where each item was written, and applies `${VAR}` / `${VAR:-default}` interpolation to
scalars. Problems are collected as `Problem`s, never raised one at a time, so validation can report
them all.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mqctl.topology.block_yaml import NOT_BLOCK, read_block
from mqctl.topology.located import LList, LMap, item_loc
from mqctl.topology.model import Loc

__all__ = ["LList", "LMap", "item_loc"]  # where the readers take them from

TOPOLOGY_SUFFIXES = (".yaml", ".yml", ".json")
# libyaml's parser when PyYAML has it: five times faster on large files, same nodes and marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_YAML_BREAKS = ("\x85", "\u2028", "\u2029")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


@dataclass(frozen=True)
class Problem:
    """One validation error: where, what is wrong, and what is allowed."""

    loc: Loc
    message: str
    allowed: str | None = None

    def __str__(self) -> str:
        tail = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{self.loc}: {self.message}{tail}"


@dataclass
class Document:
    path: str
    data: Any  # LMap normally; anything else is reported by the parser
    is_definitions: bool
    located: bool = True  # False: read without positions (JSON, see load_documents)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a topology is read: the values built are acyclic,
    and a large file makes hundreds of thousands of them, which set off full collections over
    an ever larger heap (four fifths of the loading time of 90,000 objects).

    Then what survived goes to the oldest generation at once (freeze, unfreeze: no traversal):
    left in the youngest, the first collection after this would traverse every one of them,
    about 0.6 s of a 1.6 s load of 90,000 objects. Reference counting frees them as ever."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def expand_paths(paths: Sequence[str | Path], problems: list[Problem]) -> list[Path]:
    """Files as given, and directories as their topology files (recursively, sorted)."""
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in TOPOLOGY_SUFFIXES and not _hidden(p, path)
            )
            if not found:
                problems.append(
                    Problem(
                        Loc(str(path)), "directory holds no topology files", "*.yaml, *.yml, *.json"
                    )
                )
            result.extend(found)
        elif str(raw) == STDIN or path.is_file() or (path.exists() and not path.is_dir()):
            result.append(path)  # stdin, a pipe (`plan <(envsubst < t.yaml)`), /dev/null
        else:
            problems.append(Problem(Loc(str(path)), "no such file or directory"))
    return result


STDIN = "-"


def _read(path: Path) -> str:
    if str(path) == STDIN:
        return sys.stdin.buffer.read().decode("utf-8")
    return path.read_text(encoding="utf-8")


def _hidden(path: Path, root: Path) -> bool:
    """A dot-file or a file in a dot-directory below `root` (.git, an editor's .#backup)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def load_documents(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None,
    problems: list[Problem],
    *,
    positions: bool = True,
) -> list[Document]:
    """Every file's document. Without `positions`, JSON files are read by the JSON parser and
    their values carry the file's name alone (`Document.located` False): ten times faster, for
    the caller to read again with positions once there is a problem to locate."""
    env = os.environ if env is None else env
    documents = []
    for path in expand_paths(paths, problems):
        name = "<stdin>" if str(path) == STDIN else str(path)
        try:
            text = _read(path)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(Loc(name), f"cannot read the file: {exc}"))
            continue
        fast = _parse_json_fast(text, name)
        data, located = fast, False
        if positions or fast is None:
            data, located = _read_located(text, name, env, problems, fast)
        if data is None:
            continue
        foreign = _not_a_topology(path, data)
        if foreign is not None and not located:
            data, located = _read_located(text, name, env, problems, fast)
            foreign = _not_a_topology(path, data)
        if foreign is not None:
            problems.append(foreign)
            continue
        documents.append(Document(name, data, _looks_like_definitions(path, data), located))
    return documents


def _read_located(
    text: str, name: str, env: Mapping[str, str], problems: list[Problem], fast: Any
) -> tuple[Any, bool]:
    """A file's values with their positions, and whether it has them: a JSON file that YAML
    reads otherwise (1e3 is a string to YAML 1.1) keeps the JSON parser's values, `fast`."""
    found: list[Problem] = []
    data = parse_text(text, name, env, found)
    if fast is not None and data != fast:
        return fast, False
    problems.extend(found)
    return data, True


def parse_text(text: str, name: str, env: Mapping[str, str], problems: list[Problem]) -> Any:
    """One file's content as located values; None (and a problem) when it does not parse."""
    if name.endswith(".json") and any(mark in text for mark in _YAML_BREAKS):
        # Raw NEL/U+2028/U+2029 are fine in JSON strings but line breaks to YAML, which would
        # fold them into spaces: read such a file as JSON (without positions).
        return _parse_json_fallback(text, name, problems)
    fast_problems: list[Problem] = []
    builder = _EventBuilder(name, env, fast_problems)
    try:
        built = _read_block(text, builder)
        if built is None:
            fast_problems.clear()  # the block reader's, if it went part of the way
            built = builder.build(text)
    except yaml.YAMLError:
        built = _FALLBACK  # the composer below reports it, with its own words
    if built is not _FALLBACK:
        problems.extend(fast_problems)
        return built
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        if name.endswith(".json"):
            return _parse_json_fallback(text, name, problems)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        loc = Loc(name, mark.line + 1, mark.column + 1) if mark else Loc(name)
        problems.append(Problem(loc, f"not valid YAML: {getattr(exc, 'problem', None) or exc}"))
        return None
    finally:
        loader.dispose()
    if node is None:
        return LMap(Loc(name, 1, 1))
    try:
        return _Walker(loader, name, env, problems).value(node)
    except AliasBomb:
        problems.append(
            Problem(
                Loc(name),
                f"its aliases expand to more than {ALIAS_EXPANSION_LIMIT:,} values",
                "write the values out, or use fewer nested aliases",
            )
        )
        return None


class _DuplicateKey(Exception):
    pass


def _parse_json_fast(text: str, name: str) -> Any:
    """A .json file's values by the JSON parser, every mapping an LMap placed at the file alone;
    None when it is not such a file, is not valid JSON or repeats a key (the located reading
    then words the problem with its position)."""
    if not name.endswith(".json") or "${" in text or "$$" in text:
        return None  # ${VAR} is substituted in JSON values too: the located reading does that
    loc = Loc(name)

    def mapping(pairs: list[tuple[str, Any]]) -> LMap:
        result = LMap(loc)
        result.update(pairs)
        if len(result) != len(pairs):
            raise _DuplicateKey
        return result

    try:
        return json.loads(text, object_pairs_hook=mapping, parse_constant=_no_constant)
    except (ValueError, _DuplicateKey):  # JSONDecodeError is a ValueError
        return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's extension, not JSON's


def _read_block(text: str, builder: _EventBuilder) -> Any:
    """Plain block YAML read from its lines (block_yaml.py), its scalars typed as the event
    builder types them; None when the file is not plain block YAML."""

    def scalar(written: str, plain: bool, line: int, column: int) -> Any:
        mark = yaml.Mark(builder.name, 0, line - 1, column - 1, "", 0)
        style = None if plain else "'"
        event = yaml.ScalarEvent(None, None, (plain, not plain), written, mark, mark, style)
        value = builder.scalar(event)
        return NOT_BLOCK if value is _FALLBACK else value

    return read_block(text, builder.name, scalar, builder.resolvable, lambda: builder.raw)


def _parse_json_fallback(text: str, name: str, problems: list[Problem]) -> Any:
    # JSON is nearly always YAML; when it is not (tabs, odd escapes), read it without positions.
    try:
        return _plain_to_located(json.loads(text), Loc(name, 1, 1))
    except json.JSONDecodeError as exc:
        problems.append(Problem(Loc(name, exc.lineno, exc.colno), f"not valid JSON: {exc.msg}"))
        return None


def from_plain(value: Any, source: str) -> Any:
    """Plain JSON values as the located values the parsers read, each placed at `source`
    (for documents built in memory, such as `mqctl declare`'s, taken literally: no ${VAR})."""
    return _plain_to_located(value, Loc(source))


def _plain_to_located(value: Any, loc: Loc) -> Any:
    if isinstance(value, dict):
        result = LMap(loc)
        for key, item in value.items():
            result[str(key)] = _plain_to_located(item, loc)
        return result
    if isinstance(value, list):
        seq = LList(loc)
        for item in value:
            seq.append(_plain_to_located(item, loc))
        return seq
    return value


def _pos(node: yaml.Node) -> tuple[int, int]:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


# Aliases let a few lines stand for billions of values (a "billion laughs" file): the walker
# expands them, so it counts what it builds and stops a file that expands far beyond its size.
ALIAS_EXPANSION_LIMIT = 100_000


class AliasBomb(Exception):
    """The file's aliases expand to more values than the limit allows."""


class _Walker:
    def __init__(
        self, loader: yaml.SafeLoader, name: str, env: Mapping[str, str], problems: list[Problem]
    ) -> None:
        self.loader = loader
        self.name = name
        self.env = env
        self.problems = problems
        self.seen: set[int] = set()  # nodes built once
        self.repeats = 0  # values built again for an alias

    def loc(self, node: yaml.Node) -> Loc:
        return Loc(self.name, node.start_mark.line + 1, node.start_mark.column + 1)

    def value(self, node: yaml.Node) -> Any:
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > ALIAS_EXPANSION_LIMIT:
                raise AliasBomb
        else:
            self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node)
        if isinstance(node, yaml.SequenceNode):
            seq = LList(self.loc(node))
            for item in node.value:
                seq.append(self.value(item))
                seq.pos.append(_pos(item))
            return seq
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == _STR:  # most scalars: taken as they are, without the constructor's cost
            return self.interpolated(node) if "$" in node.value else node.value
        return self.constructed(node, node.value)

    def mapping(self, node: yaml.MappingNode) -> LMap:
        explicit = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
        self.loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor) first, then the rest
        merged_count = len(node.value) - explicit
        result = LMap(self.loc(node))
        merged_keys: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.value(key_node)
            if not isinstance(key, str | int | float | bool) or key is None:
                self.problems.append(Problem(self.loc(key_node), "a key must be a plain text"))
                continue
            if not isinstance(key, str):
                key = key_node.value  # as written: 05 and 5 stay two keys, 0x10 stays 0x10
            from_merge = index < merged_count
            if key in result and key not in merged_keys:
                self.problems.append(
                    Problem(
                        self.loc(key_node),
                        f"key {key!r} given twice in one mapping "
                        f"(first at line {result.key_pos[key][0]})",
                    )
                )
                continue
            # A key of the mapping itself overrides a merged one; a later merge an earlier one.
            if from_merge:
                merged_keys.add(key)
            else:
                merged_keys.discard(key)
            value = self.value(value_node)
            result[key] = value
            result.raw.pop(key, None)
            if isinstance(value_node, yaml.ScalarNode) and not isinstance(value, str):
                result.raw[key] = self.raw_text(value_node)
            result.key_pos[key] = _pos(key_node)
            result.value_pos[key] = _pos(value_node)
        return result

    def raw_text(self, node: yaml.ScalarNode) -> str:
        if "$" in node.value and not node.style:
            return interpolate(node.value, self.env, self.loc(node), [])
        return str(node.value)

    def interpolated(self, node: yaml.ScalarNode) -> Any:
        text = interpolate(node.value, self.env, self.loc(node), self.problems)
        if node.style:  # quoted or block: stays a string (plain is None, or "" from libyaml)
            return text
        # Plain scalars are typed after substitution: `max_length: ${MAX:-100}` is a number.
        tag = self.loader.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        return self.constructed(yaml.ScalarNode(tag, text, node.start_mark), text)

    def constructed(self, node: yaml.Node, written: str) -> Any:
        """A typed value; a problem, and the text, when its type cannot take it (2024-13-45 is
        a date to YAML 1.1, `=` a "value"): bad input, never an internal error."""
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            self.problems.append(
                Problem(self.loc(node), f"{written!r} is no {kind} YAML can read", "quote it")
            )
            return written


_FALLBACK = object()
_MERGE = "tag:yaml.org,2002:merge"


class _EventBuilder:
    """The common case, fast: located values straight from libyaml's events, with no node graph.

    Anything unusual (anchors, aliases, merge keys, explicit tags, complex keys, several
    documents) returns `_FALLBACK`, and `parse_text` takes the node-based `_Walker` instead.
    On a file of thousands of objects this halves the loading time.
    """

    def __init__(self, name: str, env: Mapping[str, str], problems: list[Problem]) -> None:
        self.name = name
        self.env = env
        self.problems = problems
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.walker = _Walker(_LOADER(""), name, env, problems)
        self.raw = ""  # the last scalar's text as written
        # The first characters with which a plain scalar may resolve to other than a text.
        self.resolvable = frozenset(self.resolver.yaml_implicit_resolvers)

    def build(self, text: str) -> Any:
        # One pass, the hot loop of loading: what it touches is kept in locals.
        name, raw_of = self.name, self.scalar
        resolvable = self.resolvable
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        map_end, seq_end, doc_start = (
            yaml.MappingEndEvent,
            yaml.SequenceEndEvent,
            yaml.DocumentStartEvent,
        )
        # The open container and its state (is it a list; its pending key, None when the next
        # scalar is a key), and those of the containers around it.
        top: Any = None
        in_list = False
        key: str | None = None
        key_pos = (0, 0)
        stack: list[tuple[Any, bool, str | None, tuple[int, int]]] = []
        root: Any = _FALLBACK
        documents = 0
        events: Iterator[Any] = yaml.parse(text, Loader=_LOADER)  # events are typed loosely
        for event in events:
            kind = type(event)
            container = False
            if kind is scalar_event:
                if event.anchor is not None:
                    return _FALLBACK
                value = event.value
                if event.tag is not None or (event.implicit[0] and value[:1] in resolvable):
                    value = raw_of(event)  # may be typed (a number, a flag, a date)
                    if value is _FALLBACK:
                        return _FALLBACK
                elif "$" in value:
                    value = raw_of(event)  # ${VAR} substituted
            elif kind is map_start or kind is seq_start:
                if event.anchor is not None or event.tag not in (None, "!"):
                    return _FALLBACK
                mark = event.start_mark
                loc = Loc(name, mark.line + 1, mark.column + 1)
                value = LMap(loc) if kind is map_start else LList(loc)
                container = True
            elif kind is map_end or kind is seq_end:
                top, in_list, key, key_pos = stack.pop()
                continue
            elif kind is alias_event:
                return _FALLBACK
            elif kind is doc_start:
                documents += 1
                if documents > 1:
                    return _FALLBACK
                continue
            else:  # stream start/end, document end
                continue
            mark = event.start_mark
            pos = (mark.line + 1, mark.column + 1)
            if top is None:
                root = value
            elif in_list:
                top.append(value)
                top.pos.append(pos)
            elif key is None:  # this value is a key
                if container or not isinstance(value, str | int | float | bool):
                    return _FALLBACK
                # As written: 05 and 5 stay two keys, 0x10 stays 0x10.
                key = value if isinstance(value, str) else event.value
                if key in top:
                    return _FALLBACK  # duplicate: the walker words the error
                key_pos = pos
                continue
            else:
                top[key] = value
                top.key_pos[key] = key_pos
                top.value_pos[key] = pos
                if not container and not isinstance(value, str):
                    top.raw[key] = self.raw
                key = None
            if container:
                stack.append((top, in_list, key, key_pos))
                top, in_list, key = value, kind is seq_start, None
        if root is _FALLBACK:
            return LMap(Loc(self.name, 1, 1))  # an empty file
        return root

    def scalar(self, event: Any) -> Any:
        self.raw = event.value  # the text as written (after ${VAR} substitution, below)
        tag = event.tag
        if tag is None:
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        elif tag == "!":
            tag = _STR
        else:
            return _FALLBACK
        if tag == _STR:
            if "$" not in event.value:
                return event.value
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            self.raw = self.walker.raw_text(node)
            return self.walker.interpolated(node)
        if tag == _MERGE:
            return _FALLBACK
        try:
            return self.constructor.construct_object(yaml.ScalarNode(tag, event.value), deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            return _FALLBACK  # the walker words it


def interpolate(text: str, env: Mapping[str, str], loc: Loc, problems: list[Problem]) -> str:
    """`${VAR}` and `${VAR:-default}` from the environment; `$$` is a literal `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        var, default = match.group(1), match.group(2)
        if env.get(var):
            return env[var]
        if default is not None:
            return default
        problems.append(
            Problem(
                loc,
                f"environment variable {var} is not set",
                f"export {var}, or ${{{var}:-default}}",
            )
        )
        return match.group(0)  # left as written, so that no second error follows from it

    return _VAR.sub(replace, text)


# Keys only the broker's exports carry (mqctl's format shares the section names).
_DEFINITIONS_MARKERS = {"rabbit_version", "rabbitmq_version", "product_name", "product_version"}
_SECTIONS = {
    "vhosts",
    "users",
    "permissions",
    "topic_permissions",
    "parameters",
    "global_parameters",
    "policies",
    "operator_policies",
    "exchanges",
    "queues",
    "bindings",
}


def _looks_like_definitions(path: Path, data: Any) -> bool:
    """RabbitMQ definitions JSON (as exported by the broker) rather than mqctl's own format."""
    if not isinstance(data, dict):
        return False
    if data.get("format") == "mqctl-topology":
        return False
    if _DEFINITIONS_MARKERS & data.keys():
        return True
    bindings = data.get("bindings")
    if isinstance(bindings, list) and any(
        isinstance(b, dict) and "destination_type" in b for b in bindings
    ):
        return True
    return path.suffix == ".json"


def _not_a_topology(path: Path, data: Any) -> Problem | None:
    """A JSON file that is neither definitions nor mqctl's format (a package.json, say): refused
    rather than read as an empty topology."""
    if path.suffix != ".json" or not isinstance(data, LMap) or not data:
        return None
    if data.get("format") == "mqctl-topology" or (_DEFINITIONS_MARKERS | _SECTIONS) & data.keys():
        return None
    keys = ", ".join(repr(k) for k in list(data)[:5])
    return Problem(
        data.loc,
        f"not a topology file: none of its keys ({keys}) is a section of RabbitMQ definitions "
        "or of mqctl's format",
        'vhosts, queues, exchanges, bindings, policies, ... or "format": "mqctl-topology"',
    )

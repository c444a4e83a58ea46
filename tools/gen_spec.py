#!/usr/bin/env python3
"""Generate mqctl/wire/_spec.py from RabbitMQ's machine-readable AMQP 0-9-1 spec (JSON).

    python tools/gen_spec.py [--spec PATH] [--output PATH]

The output holds the method and property tables and, for every method, a straight-line decoder and
encoder: each run of fixed-size fields is one precompiled ``struct.Struct``, bits are unpacked with
masks, strings and tables are read in place from a memoryview. tools/check-spec regenerates it and
fails on any difference, so never edit the output by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_NAME = "amqp-rabbitmq-0.9.1.json"
# the spec lives in ../shared/spec beside a checkout, or ../../shared/spec beside a worktree
SPEC_CANDIDATES = [
    ROOT.parent / "shared" / "spec" / SPEC_NAME,
    ROOT.parent.parent / "shared" / "spec" / SPEC_NAME,
]
DEFAULT_SPEC = next((path for path in SPEC_CANDIDATES if path.is_file()), SPEC_CANDIDATES[0])
DEFAULT_OUTPUT = ROOT / "mqctl" / "wire" / "_spec.py"
SPEC_ENV = "MQCTL_AMQP_SPEC"

# fixed-size AMQP types -> struct format characters
FIXED = {"octet": "B", "short": "H", "long": "I", "longlong": "Q", "timestamp": "Q"}
SIZES = {"B": 1, "H": 2, "I": 4, "Q": 8}


@dataclass
class Arg:
    name: str  # python name: '-' -> '_'
    spec_name: str
    type: str  # resolved AMQP type: octet short long longlong timestamp shortstr longstr bit table
    domain: str
    default: Any


@dataclass
class Method:
    class_id: int
    method_id: int
    class_name: str  # "Basic"
    name: str  # "Basic.Publish"
    ident: str  # "basic_publish"
    synchronous: bool
    content: bool
    args: list[Arg]


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def ident(name: str) -> str:
    return name.replace("-", "_")


def load(spec_path: Path) -> tuple[dict[str, Any], list[Method], list[tuple[int, str, list[Arg]]]]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    domains = {name: base for name, base in spec["domains"]}
    methods: list[Method] = []
    classes: list[tuple[int, str, list[Arg]]] = []

    def resolve(field: dict[str, Any]) -> str:
        kind = field.get("type") or field["domain"]
        seen = set()
        while kind in domains and domains[kind] != kind:
            if kind in seen:
                raise SystemExit(f"domain loop at {kind}")
            seen.add(kind)
            kind = domains[kind]
        return str(kind)

    for cls in spec["classes"]:
        props = [
            Arg(ident(p["name"]), p["name"], resolve(p), p.get("domain", p.get("type", "")), None)
            for p in cls.get("properties", [])
        ]
        classes.append((cls["id"], camel(cls["name"]), props))
        for m in cls["methods"]:
            args = [
                Arg(
                    ident(a["name"]),
                    a["name"],
                    resolve(a),
                    a.get("domain", a.get("type", "")),
                    a.get("default-value"),
                )
                for a in m["arguments"]
            ]
            methods.append(
                Method(
                    cls["id"],
                    m["id"],
                    camel(cls["name"]),
                    f"{camel(cls['name'])}.{camel(m['name'])}",
                    f"{ident(cls['name'])}_{ident(m['name'])}",
                    bool(m.get("synchronous", False)),
                    bool(m.get("content", False)),
                    args,
                )
            )
    return spec, methods, classes


# --- layout: runs of fixed fields (bits grouped into octets) and variable fields ---------------


@dataclass
class Run:
    """Consecutive fixed-size fields read with one struct: (arg index or None, fmt, bits)."""

    items: list[tuple[int | None, str, list[int]]]

    @property
    def fmt(self) -> str:
        return ">" + "".join(fmt for _, fmt, _ in self.items)

    @property
    def size(self) -> int:
        return sum(SIZES[fmt] for _, fmt, _ in self.items)


def layout(args: list[Arg]) -> list[Run | int]:
    """Segments: a Run of fixed fields, or the index of a variable-size argument."""
    segments: list[Run | int] = []
    bit_group: list[int] | None = None
    for index, arg in enumerate(args):
        if arg.type == "bit":
            if bit_group is None or len(bit_group) == 8:
                bit_group = []
                if not segments or not isinstance(segments[-1], Run):
                    segments.append(Run([]))
                run = segments[-1]
                assert isinstance(run, Run)
                run.items.append((None, "B", bit_group))
            bit_group.append(index)
            continue
        bit_group = None
        if arg.type in FIXED:
            if not segments or not isinstance(segments[-1], Run):
                segments.append(Run([]))
            run = segments[-1]
            assert isinstance(run, Run)
            run.items.append((index, FIXED[arg.type], []))
        elif arg.type in ("shortstr", "longstr", "table"):
            segments.append(index)
        else:
            raise SystemExit(f"unsupported AMQP type {arg.type}")
    return segments


class Emitter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.structs: dict[str, str] = {}

    def struct(self, fmt: str) -> str:
        if fmt not in self.structs:
            self.structs[fmt] = "_S_" + fmt[1:]
        return self.structs[fmt]


def native_read(fmt: str, static: int | None, offset: int) -> str:
    """A big-endian unsigned read of struct format ``fmt`` at ``offset`` past ``static`` (or past
    ``o`` when the position is not known statically), as byte indexing: what mypyc compiles to
    machine loads."""

    def at(k: int) -> str:
        if static is not None:
            return str(static + offset + k)
        return "o" if offset + k == 0 else f"o + {offset + k}"

    if fmt == "B":
        return f"b[{at(0)}]"
    if fmt == "H":
        return f"(b[{at(0)}] << 8) | b[{at(1)}]"
    if fmt == "I":
        return f"_u32_at(b, {at(0)})"
    return f"(_u32_at(b, {at(0)}) << 32) | _u32_at(b, {at(4)})"


def emit_native_or_struct(
    em: Emitter,
    segment: Run,
    names: list[str],
    target: str,
    static: int | None,
    pos: str,
    out: list[str],
    indent: str,
) -> None:
    """Compiled, byte reads are machine loads into native ints, where a struct call boxes its
    results into a tuple; pure Python, one struct call beats the index operations."""
    out.append(f"{indent}if _NATIVE:")
    offset = 0
    for var, (_index, fmt, _bits) in zip(names, segment.items, strict=True):
        out.append(f"{indent}    {var} = {native_read(fmt, static, offset)}")
        offset += SIZES[fmt]
    out.append(f"{indent}else:")
    out.append(f"{indent}    {target} = {em.struct(segment.fmt)}.unpack_from(b, {pos})")


def emit_reader(em: Emitter, args: list[Arg], start: int, out: list[str], indent: str) -> None:
    """Statements that read ``args`` from memoryview ``b`` at offset ``start`` into v0, v1, ...

    Leaves the end offset in ``o``.
    """
    static: int | None = start
    pos = str(start)
    bit_vars = 0
    for segment in layout(args):
        if isinstance(segment, Run):
            names: list[str] = []
            for index, _fmt, _bits in segment.items:
                if index is None:
                    names.append(f"bits{bit_vars}")
                    bit_vars += 1
                elif args[index].type == "timestamp":
                    names.append(f"r{index}")  # the seconds, then v{index} the datetime
                else:
                    names.append(f"v{index}")
            target = f"({names[0]},)" if len(names) == 1 else ", ".join(names)
            if segment.fmt == ">B":  # one octet: indexing is the cheapest read in both builds
                out.append(f"{indent}{names[0]} = {native_read('B', static, 0)}")
            else:
                emit_native_or_struct(em, segment, names, target, static, pos, out, indent)
            for var, (_index, _fmt, bits) in zip(names, segment.items, strict=True):
                for bit_number, arg_index in enumerate(bits):
                    out.append(f"{indent}v{arg_index} = ({var} & {1 << bit_number}) != 0")
            for index, _fmt, _bits in segment.items:
                if index is not None and args[index].type == "timestamp":
                    out.append(f"{indent}v{index} = _timestamp(r{index})")
            if static is not None:
                static += segment.size
                pos = str(static)
            else:
                out.append(f"{indent}o += {segment.size}")
                pos = "o"
            continue
        arg = args[segment]
        var = f"v{segment}"
        if arg.type == "table":
            out.append(f"{indent}{var}, o = _table(b, {pos})")
        else:
            if arg.type == "shortstr":
                out.append(f"{indent}s = {static + 1 if static is not None else 'o + 1'}")
                out.append(f"{indent}o = s + b[{pos}]")
            else:
                out.append(f"{indent}s = {pos} + 4")
                out.append(f"{indent}o = s + _U32(b, s - 4)[0]")
            out.append(f"{indent}try:")
            out.append(f"{indent}    {var}: Any = b[s:o].decode()")
            out.append(f"{indent}except UnicodeDecodeError:")
            out.append(f"{indent}    {var} = b[s:o]")
        static = None
        pos = "o"
    if static is not None:
        out.append(f"{indent}o = {static}")


def emit_writer(em: Emitter, args: list[Arg], source: str) -> list[str]:
    """Expressions (bytes) that encode ``args`` taken from mapping ``source``."""
    parts: list[str] = []
    for segment in layout(args):
        if isinstance(segment, Run):
            values: list[str] = []
            for index, _fmt, bits in segment.items:
                if index is None:
                    terms = [
                        f'({1 << n} if {source}["{args[i].name}"] else 0)'
                        for n, i in enumerate(bits)
                    ]
                    values.append(" | ".join(terms))
                elif args[index].type == "timestamp":
                    values.append(f'_timestamp_out({source}["{args[index].name}"])')
                else:
                    values.append(f'{source}["{args[index].name}"]')
            parts.append(f"{em.struct(segment.fmt)}.pack({', '.join(values)})")
            continue
        arg = args[segment]
        writer = {"shortstr": "_shortstr", "longstr": "_longstr", "table": "_table_out"}[arg.type]
        parts.append(f'{writer}({source}["{arg.name}"])')
    return parts


def default_literal(arg: Arg) -> str:
    value = arg.default
    if arg.type == "bit":
        return repr(bool(value)) if value is not None else "False"
    if arg.type in FIXED:
        return repr(int(value)) if value is not None else "0"
    if arg.type == "table":
        return "{}"
    return repr(str(value)) if value is not None else "''"


def wrap_join(parts: list[str], indent: str) -> list[str]:
    one_line = f"{indent}return b''.join(({', '.join(parts)},))"
    lines = [f"{indent}return b''.join(", f"{indent}    ("]
    lines += [f"{indent}        {part}," for part in parts]
    lines += [f"{indent}    )", f"{indent})"]
    return [one_line] if len(one_line) <= 100 and len(parts) == 1 else lines


def generate(spec_path: Path) -> str:
    spec, methods, classes = load(spec_path)
    em = Emitter()
    body: list[str] = []

    # method decoders
    for m in methods:
        body.append("")
        body.append("")
        body.append(f"def _decode_{m.ident}(b: bytes) -> dict[str, Any]:")
        body.append(f'    """{m.name} arguments from a whole method payload (ids included)."""')
        if m.args:
            emit_reader(em, m.args, 4, body, "    ")
        else:
            body.append("    o = 4")
        body.append("    if o != len(b):")
        body.append("        raise _length_error(o, len(b))")
        if m.args:
            items = ", ".join(f'"{a.name}": v{i}' for i, a in enumerate(m.args))
            line = f"    return {{{items}}}"
            if len(line) <= 100:
                body.append(line)
            else:
                body.append("    return {")
                body += [f'        "{a.name}": v{i},' for i, a in enumerate(m.args)]
                body.append("    }")
        else:
            body.append("    return {}")

    # method encoders
    for m in methods:
        body.append("")
        body.append("")
        body.append(f"def _encode_{m.ident}(a: Mapping[str, Any]) -> bytes:")
        body.append(f'    """{m.name} payload (ids included) from complete arguments."""')
        ids = f"{m.class_id:04x}{m.method_id:04x}"
        ids_literal = "b'" + "".join(f"\\x{ids[i : i + 2]}" for i in range(0, 8, 2)) + "'"
        parts = [ids_literal, *emit_writer(em, m.args, "a")]
        body += wrap_join(parts, "    ")

    # property decoders / encoders
    for _class_id, class_name, props in classes:
        if not props:
            continue
        low = class_name.lower()
        body.append("")
        body.append("")
        body.append(
            f"def _decode_{low}_properties(b: bytes, o: int, flags: int) -> dict[str, Any]:"
        )
        body.append(f'    """The set {class_name} properties, read from offset ``o``."""')
        body.append("    p: dict[str, Any] = {}")
        for number, prop in enumerate(props):
            mask = 1 << (15 - number)
            body.append(f"    if flags & 0x{mask:04X}:")
            if prop.type in FIXED:
                fmt = ">" + FIXED[prop.type]
                size = SIZES[FIXED[prop.type]]
                if prop.type == "octet":
                    body.append(f'        p["{prop.name}"] = b[o]')
                else:
                    read = f"{em.struct(fmt)}.unpack_from(b, o)[0]"
                    if prop.type == "timestamp":
                        read = f"_timestamp({read})"
                    body.append(f'        p["{prop.name}"] = {read}')
                body.append(f"        o += {size}")
            elif prop.type == "table":
                body.append(f'        p["{prop.name}"], o = _table(b, o)')
            elif prop.type in ("shortstr", "longstr"):
                if prop.type == "shortstr":
                    body.append("        s = o + 1")
                    body.append("        o = s + b[o]")
                else:
                    body.append("        s = o + 4")
                    body.append("        o = s + _U32(b, o)[0]")
                body.append("        try:")
                body.append(f'            p["{prop.name}"] = b[s:o].decode()')
                body.append("        except UnicodeDecodeError:")
                body.append(f'            p["{prop.name}"] = b[s:o]')
            else:
                raise SystemExit(f"unsupported property type {prop.type}")
        body.append("    if o != len(b):")
        body.append("        raise _length_error(o, len(b))")
        body.append("    return p")

        body.append("")
        body.append("")
        body.append(f"def _encode_{low}_properties(p: Mapping[str, Any]) -> tuple[int, bytes]:")
        body.append(
            f'    """(property flags, encoded values) for the {class_name} properties given."""'
        )
        body.append("    flags = 0")
        body.append("    parts: list[bytes] = []")
        for number, prop in enumerate(props):
            mask = 1 << (15 - number)
            body.append(f'    if "{prop.name}" in p:')
            body.append(f"        flags |= 0x{mask:04X}")
            value = f'p["{prop.name}"]'
            if prop.type == "timestamp":
                expr = f"{em.struct('>Q')}.pack(_timestamp_out({value}))"
            elif prop.type in FIXED:
                expr = f"{em.struct('>' + FIXED[prop.type])}.pack({value})"
            else:
                writer = {"shortstr": "_shortstr", "longstr": "_longstr", "table": "_table_out"}
                expr = f"{writer[prop.type]}({value})"
            body.append(f"        parts.append({expr})")
        body.append("    return flags, b''.join(parts)")

    # tables
    tables: list[str] = ["", ""]
    tables.append("#: (class_id, name) for every class")
    tables.append("CLASSES: dict[int, str] = {")
    tables += [f'    {cid}: "{name}",' for cid, name, _ in classes]
    tables.append("}")
    tables.append("")
    tables.append(
        "#: (class_id, method_id, name, synchronous, carries content, arguments) per method;"
    )
    tables.append("#: each argument is (python name, spec name, AMQP type, spec domain, default).")
    tables.append("METHOD_TABLE: tuple[MethodRow, ...] = (")
    for m in methods:
        tables.append("    (")
        tables.append(f"        {m.class_id},")
        tables.append(f"        {m.method_id},")
        tables.append(f'        "{m.name}",')
        tables.append(f"        {m.synchronous},")
        tables.append(f"        {m.content},")
        if m.args:
            tables.append("        (")
            for a in m.args:
                row = (
                    f'            ("{a.name}", "{a.spec_name}", "{a.type}", "{a.domain}", '
                    f"{default_literal(a)}),"
                )
                if len(row) > 100:
                    tables.append("            (")
                    tables.append(f'                "{a.name}",')
                    tables.append(f'                "{a.spec_name}",')
                    tables.append(f'                "{a.type}",')
                    tables.append(f'                "{a.domain}",')
                    tables.append(f"                {default_literal(a)},")
                    tables.append("            ),")
                else:
                    tables.append(row)
            tables.append("        ),")
        else:
            tables.append("        (),")
        tables.append("    ),")
    tables.append(")")
    tables.append("")
    tables.append("#: (class_id, python name, spec name, AMQP type, flag bit) per content property")
    tables.append("PROPERTY_TABLE: tuple[tuple[int, str, str, str, int], ...] = (")
    for class_id, _class_name, props in classes:
        for number, prop in enumerate(props):
            mask = 1 << (15 - number)
            tables.append(
                f'    ({class_id}, "{prop.name}", "{prop.spec_name}", "{prop.type}", 0x{mask:04X}),'
            )
    tables.append(")")
    tables.append("")
    tables.append("#: method decoders and encoders keyed by (class_id << 16) | method_id")
    tables.append("DECODERS: dict[int, Callable[[bytes], dict[str, Any]]] = {")
    tables += [f"    0x{m.class_id:04X}{m.method_id:04X}: _decode_{m.ident}," for m in methods]
    tables.append("}")
    tables.append("ENCODERS: dict[int, Callable[[Mapping[str, Any]], bytes]] = {")
    tables += [f"    0x{m.class_id:04X}{m.method_id:04X}: _encode_{m.ident}," for m in methods]
    tables.append("}")
    tables.append("#: property decoders (payload, offset, flags) and encoders keyed by class_id")
    tables.append("PROPERTY_DECODERS: dict[int, Callable[[bytes, int, int], dict[str, Any]]] = {")
    tables += [
        f"    {cid}: _decode_{name.lower()}_properties," for cid, name, props in classes if props
    ]
    tables.append("}")
    tables.append(
        "PROPERTY_ENCODERS: dict[int, Callable[[Mapping[str, Any]], tuple[int, bytes]]] = {"
    )
    tables += [
        f"    {cid}: _encode_{name.lower()}_properties," for cid, name, props in classes if props
    ]
    tables.append("}")

    constants = [
        f"{c['name'].replace('-', '_')} = {c['value']}"
        for c in spec["constants"]
        if c["name"].startswith("FRAME-") and "class" not in c
    ]
    reply_codes = [
        f'    {c["value"]}: "{c["name"].replace("-", "_")}",'
        for c in spec["constants"]
        if "class" in c or not c["name"].startswith("FRAME-")
    ]

    header = [
        "# GENERATED by tools/gen_spec.py from amqp-rabbitmq-0.9.1.json (RabbitMQ) -- DO NOT EDIT.",
        "# Regenerate with `python tools/gen_spec.py`; tools/check-spec fails CI on any drift.",
        '"""AMQP 0-9-1 method/property tables and per-method decoders and encoders (generated)."""',
        "",
        "from __future__ import annotations",
        "",
        "import struct",
        "from collections.abc import Callable, Mapping",
        "from typing import Any, Final",
        "",
        "from mqctl.wire.values import (",
        "    CodecError,",
        "    u32_at as _u32_at,",
        "    encode_longstr as _longstr,",
        "    encode_shortstr as _shortstr,",
        "    encode_table as _table_out,",
        "    encode_timestamp as _timestamp_out,",
        ")",
        "from mqctl.wire.values import decode_table as _table",
        "from mqctl.wire.values import decode_timestamp as _timestamp",
        "",
        "MethodRow = tuple[int, int, str, bool, bool, tuple[tuple[str, str, str, str, Any], ...]]",
        "",
        f"VERSION = ({spec['major-version']}, {spec['minor-version']}, {spec['revision']})",
        f"PORT = {spec['port']}",
        *constants,
        "",
        "#: reply codes and their names (Connection.Close / Channel.Close reply_code)",
        "REPLY_CODES: dict[int, str] = {",
        *reply_codes,
        "}",
        "",
        "_U32 = struct.Struct('>I').unpack_from",
        "#: True when this module runs compiled by mypyc (see tools/build_mypyc.py)",
        "_NATIVE: Final = not __file__.endswith('.py')",
    ]
    header += [f"{var} = struct.Struct('{fmt}')" for fmt, var in sorted(em.structs.items())]
    header += [
        "",
        "",
        "def _length_error(end: int, size: int) -> CodecError:",
        "    if end > size:",
        '        return CodecError(f"the arguments need {end - size} more byte(s) than there are")',
        '    return CodecError(f"{size - end} byte(s) left over after the last argument")',
    ]
    text = "\n".join(header + body + tables) + "\n"
    return ruff_format(text.replace("'", '"'))


def ruff_format(text: str) -> str:
    """Fix imports and format like the rest of the project (ruff is in the dev extra; CI has it)."""
    local = Path(sys.executable).with_name("ruff")
    ruff = str(local) if local.exists() else "ruff"
    for step in (["check", "--fix-only", "--exit-zero", "--quiet"], ["format"]):
        command = [ruff, *step, "--stdin-filename", "mqctl/wire/_spec.py", "-"]
        try:
            done = subprocess.run(command, input=text, capture_output=True, text=True, cwd=ROOT)
        except FileNotFoundError:
            raise SystemExit("gen_spec: ruff not found; pip install -e '.[dev]'") from None
        if done.returncode != 0:
            raise SystemExit(f"gen_spec: ruff {step[0]} failed:\n{done.stderr}")
        text = done.stdout
    return text


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get(SPEC_ENV, DEFAULT_SPEC)))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="'-' for stdout")
    options = parser.parse_args(argv)
    if not options.spec.is_file():
        print(
            f"gen_spec: spec not found: {options.spec} (set {SPEC_ENV} or --spec)", file=sys.stderr
        )
        return 4
    text = generate(options.spec)
    if str(options.output) == "-":
        sys.stdout.write(text)
    else:
        options.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

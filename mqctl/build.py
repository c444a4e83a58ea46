"""Which build of the hot paths runs: compiled (mypyc extension modules) or pure Python.

scripts/setup compiles the modules of `COMPILED` with tools/build_mypyc.py; their extension files
sit beside the sources (`mqctl/wire/decoder.cpython-311-x86_64-linux-gnu.so`, ...). The same
Python sources run when there is no compiler, when MQCTL_PURE_PYTHON=1 is set, or when a
source was edited after the build: the compiled set is used whole or not at all. `mqctl --version` names the build (`build_name`).

Cheap on purpose (a few stat calls, nothing of the codec imported): `--version` calls it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from types import ModuleType

#: the modules of mqctl (names below it) that tools/build_mypyc.py compiles: the hot path of
#: `wire read`, and that of loading a topology (`topology validate`, plan and apply read files)
COMPILED = (
    "wire.values",
    "wire._spec",
    "wire.decoder",
    "wire.dispatch",
    "wire.capture",
    "wire.pcap",
    "wire.pcapng",
    "wire.packets",
    "wire.reassembly",
    "wire.readers",
    "wire.pipeline",
    "wire.render_jsonl",
    "topology.block_yaml",
    "topology.loader",
    "topology.fields",
    "topology.parse",
    "topology.definitions",
    "topology.rules",
    "topology.references",
    "topology.validate",
    "topology.kinds.base",
    "topology.kinds.routing",
)
#: the packages whose __init__ calls `choose_build` before any of their compiled modules loads
COMPILED_PACKAGES = ("mqctl.wire", "mqctl.topology")
PURE_PYTHON_ENV = "MQCTL_PURE_PYTHON"
PACKAGE = os.path.dirname(os.path.abspath(__file__))  # mqctl/
_SUFFIX = EXTENSION_SUFFIXES[0]  # e.g. ".cpython-311-x86_64-linux-gnu.so"

COMPILED_NAME = "compiled with mypyc"
PURE_NAME = "pure Python"


def pure_python_requested() -> bool:
    """MQCTL_PURE_PYTHON is set to something other than empty or 0."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def extension_path(module: str) -> str:
    return os.path.join(PACKAGE, *module.split(".")) + _SUFFIX


def source_path(module: str) -> str:
    return os.path.join(PACKAGE, *module.split(".")) + ".py"


#: written by tools/build_mypyc.py: "module sha256" per line, of the sources it compiled
MANIFEST = os.path.join(PACKAGE, ".compiled-sources")


def source_digest(module: str) -> str:
    import hashlib

    with open(source_path(module), "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()


def _built_from() -> dict[str, str]:
    try:
        with open(MANIFEST, encoding="ascii") as manifest:
            return dict(line.split() for line in manifest if line.strip())
    except (OSError, ValueError):
        return {}


def compiled_state() -> str:
    """`fresh` (every module compiled from its present source), `stale`, or `absent`.

    A source newer than its extension module is compared by content with what was compiled (git
    rewrites the files it checks out): only a real edit makes the build stale."""
    found = 0
    built_from: dict[str, str] | None = None
    for module in COMPILED:
        try:
            built = os.stat(extension_path(module)).st_mtime
        except OSError:
            continue
        found += 1
        if built < os.stat(source_path(module)).st_mtime:
            if built_from is None:
                built_from = _built_from()
            if built_from.get(module) != source_digest(module):
                return "stale"
    if found == 0:
        return "absent"
    return "fresh" if found == len(COMPILED) else "stale"


def use_compiled() -> bool:
    """Whether the compiled modules are to be imported (else the sources are, see module doc)."""
    return not pure_python_requested() and compiled_state() == "fresh"


def build_name() -> str:
    """The build in use, as `mqctl --version` shows it."""
    if pure_python_requested():
        return f"{PURE_NAME}: {PURE_PYTHON_ENV}=1"
    state = compiled_state()
    if state == "fresh":
        return COMPILED_NAME
    if state == "stale":
        return f"{PURE_NAME}: the compiled modules are older than the sources; rerun scripts/setup"
    return f"{PURE_NAME}: not compiled"


class _SourcesFirst:
    """A meta-path finder that loads the compiled set from its .py sources (see `use_compiled`)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        module = fullname.removeprefix("mqctl.")
        if module == fullname or module not in COMPILED:
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(fullname, source_path(module))


_chosen: list[bool] = []  # whether choose_build ran in this process


def choose_build() -> None:
    """Make `import mqctl.<module>` load the pure-Python sources unless the compiled set is to
    be used. Called by the `__init__` of each of `COMPILED_PACKAGES`, before any of their
    modules loads (the first call decides)."""
    if _chosen:
        return
    _chosen.append(True)
    if use_compiled():
        return
    if not any(isinstance(finder, _SourcesFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())

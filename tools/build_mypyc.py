#!/usr/bin/env python3
"""Compile the hot paths (mqctl.build.COMPILED) with mypyc; scripts/setup runs this.

    .venv/bin/python tools/build_mypyc.py             # build mqctl/**/*.so beside the sources
    .venv/bin/python tools/build_mypyc.py --if-needed # only when missing or older than the sources
    .venv/bin/python tools/build_mypyc.py --clean     # remove them: the pure-Python build runs

Why mypyc: it compiles the very modules the pure-Python build runs, from their type annotations
(mypy --strict already checks them), so there is one source of truth and nothing to keep in step;
Cython would need .pyx/.pxd files or annotations of its own beside them. It needs a C compiler
and Python's headers (scripts/setup installs gcc and python3-dev on Debian).

Python imports an extension module before a ``.py`` of the same name; mqctl.build makes the
sources load instead when MQCTL_PURE_PYTHON=1 or when a module was edited after the build (by
content: ``mqctl/.compiled-sources`` holds what was compiled), so a stale build never hides
a change. ``mqctl --version`` says which build runs. The build runs in a
scratch directory, away from the project's pyproject.toml; the ``.so`` files are git-ignored.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mqctl.build import COMPILED, COMPILED_NAME, MANIFEST, build_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mqctl"
MODULES = list(COMPILED)
# One group: the modules call each other natively, and share one runtime library, which lands
# inside the package: mqctl/native__mypyc*.so
GROUP = "mqctl.native"

SETUP = """
from setuptools import setup
from mypyc.build import mypycify
setup(
    name="mqctl-native",
    ext_modules=mypycify({paths!r}, group_name={group!r}, opt_level="3"),
    script_args=["build_ext", "--inplace"],
)
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built_files() -> list[Path]:
    """Every extension module of an earlier build (of this module list or an older one)."""
    old_manifests = [PACKAGE / "wire" / ".compiled-sources", Path(MANIFEST)]
    return list(PACKAGE.rglob("*.so")) + [path for path in old_manifests if path.exists()]


def clean() -> None:
    for path in built_files():
        path.unlink()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--if-needed"] and build_name() == COMPILED_NAME:
        print(f"build_mypyc: up to date ({COMPILED_NAME})")
        return 0
    clean()
    if argv[:1] == ["--clean"]:
        print("build_mypyc: compiled modules removed; the pure-Python modules are in use")
        return 0
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        print("build_mypyc: no C compiler; the pure-Python codec stays in use", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="mqctl-mypyc-") as scratch:
        work = Path(scratch)
        shutil.copytree(ROOT / "mqctl", work / "mqctl", ignore=shutil.ignore_patterns("*.so"))
        paths = [f"mqctl/{name.replace('.', '/')}.py" for name in MODULES]
        (work / "setup.py").write_text(SETUP.format(paths=paths, group=GROUP))
        subprocess.run([sys.executable, "setup.py"], cwd=work, check=True)
        for built in (work / "mqctl").rglob("*.so"):
            target = ROOT / built.relative_to(work)
            shutil.copy2(built, target)
            print(f"build_mypyc: {target.relative_to(ROOT)}")
        digests = {name: _digest(work / path) for name, path in zip(MODULES, paths, strict=True)}
        Path(MANIFEST).write_text("".join(f"{name} {d}\n" for name, d in digests.items()))
    done = subprocess.run(
        [sys.executable, "-c", "from mqctl.build import build_name; print(build_name())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"build_mypyc: build in use: {done.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

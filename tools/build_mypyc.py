#!/usr/bin/env python3
"""Optional: compile the frame codec's hot modules with mypyc (needs a C compiler + the dev extra).

    .venv/bin/python tools/build_mypyc.py          # build mqctl/wire/*.so beside the sources
    .venv/bin/python tools/build_mypyc.py --clean  # remove them: back to the pure-Python codec

Python imports an extension module before a ``.py`` of the same name, so the ``.so`` files take
over while present (they are git-ignored). Rebuild after editing those modules, or ``--clean``:
a stale build hides source changes. ``mqctl.wire.codec_build()`` says which build is in use.
The build runs in a scratch directory, away from the project's pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIRE = ROOT / "mqctl" / "wire"
MODULES = ["values", "_spec", "decoder", "dispatch"]
GROUP = "mqctl.wire"  # the shared runtime library lands inside the package: mqctl/wire__mypyc*.so

SETUP = """
from setuptools import setup
from mypyc.build import mypycify
setup(
    name="mqctl-codec-native",
    ext_modules=mypycify({paths!r}, group_name={group!r}, opt_level="3"),
    script_args=["build_ext", "--inplace"],
)
"""


def built_files() -> list[Path]:
    found = [path for name in MODULES for path in WIRE.glob(f"{name}.*.so")]
    return found + list((ROOT / "mqctl").glob("wire__mypyc.*.so"))


def clean() -> None:
    for path in built_files():
        path.unlink()


def main(argv: list[str]) -> int:
    clean()
    if argv[:1] == ["--clean"]:
        print("build_mypyc: compiled codec removed; the pure-Python modules are in use")
        return 0
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        print("build_mypyc: no C compiler; the pure-Python codec stays in use", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="mqctl-mypyc-") as scratch:
        work = Path(scratch)
        shutil.copytree(ROOT / "mqctl", work / "mqctl", ignore=shutil.ignore_patterns("*.so"))
        paths = [f"mqctl/wire/{name}.py" for name in MODULES]
        (work / "setup.py").write_text(SETUP.format(paths=paths, group=GROUP))
        subprocess.run([sys.executable, "setup.py"], cwd=work, check=True)
        for built in (work / "mqctl").rglob("*.so"):
            target = ROOT / built.relative_to(work)
            shutil.copy2(built, target)
            print(f"build_mypyc: {target.relative_to(ROOT)}")
    done = subprocess.run(
        [sys.executable, "-c", "import mqctl.wire as w; print(w.codec_build())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"build_mypyc: codec build in use: {done.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

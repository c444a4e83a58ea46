#!/usr/bin/env python3
"""Generate the shell completion scripts from the program itself.

    python tools/gen_completions.py            # write completions/
    python tools/gen_completions.py --check    # exit 1 (with a diff) when a committed file differs

- completions/mqctl.bash, completions/_mqctl (zsh) and completions/mqctl.fish are what the program
  itself prints for `_MQCTL_COMPLETE=source_<shell> mqctl` — the same scripts
  `mqctl --install-completion` installs. Never edit them by hand.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROG = "mqctl"
SCRIPTS = {
    "bash": ROOT / "completions" / "mqctl.bash",
    "zsh": ROOT / "completions" / "_mqctl",
    "fish": ROOT / "completions" / "mqctl.fish",
}


def completion_script(shell: str) -> str:
    """What the program prints for `_MQCTL_COMPLETE=source_<shell>` (run from this checkout)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("_MQCTL")}
    env["_MQCTL_COMPLETE"] = f"source_{shell}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", PROG],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit(f"gen_completions: {PROG} printed no {shell} script: {result.stderr.strip()}")
    return result.stdout if result.stdout.endswith("\n") else result.stdout + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()

    with ThreadPoolExecutor() as pool:  # one interpreter start-up per shell, side by side
        scripts = dict(zip(SCRIPTS.values(), pool.map(completion_script, SCRIPTS), strict=True))
    wanted: dict[Path, str] = dict(scripts)

    drift = False
    for path, text in wanted.items():
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current == text:
            continue
        shown = path.relative_to(ROOT)
        if options.check:
            drift = True
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"{shown} (committed)",
                    f"{shown} (generated)",
                )
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {shown}")
    if drift:
        print("completion files drifted: run python tools/gen_completions.py and commit the result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

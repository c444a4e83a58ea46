"""Start-up: `mqctl --version` and an option TAB (`mqctl consume --<TAB>`), each as a new process.

Printed beside the floor (`python -c pass` of the same interpreter) and, with --baseline, beside
another checkout's mqctl run the same way in the same run (for example the commit before a change:
`git worktree add /tmp/before <rev> && (cd /tmp/before && scripts/setup)`, then
`--baseline /tmp/before`). The target is 0.25 s for each on the project's machine.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15] [--baseline DIR] [--instructions]

On a loaded machine wall and even CPU times move a lot; --instructions also counts the
instructions each run executes under valgrind's callgrind (the same whatever the load).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import callgrind_instructions

TARGET = 0.25
TAB_ENV = {
    "_MQCTL_COMPLETE": "complete_bash",
    "COMP_WORDS": "mqctl\nconsume\n--",
    "COMP_CWORD": "2",
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) the process used: on a loaded machine the
    second says more of mqctl than of the neighbours."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(runs: int, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median wall time and median CPU time."""
    samples = [timed(argv, env) for _ in range(runs)]
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another checkout with its own .venv")
    parser.add_argument("--instructions", action="store_true", help="count with callgrind too")
    options = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MQCTL_", "_MQCTL"))}
    tab_env = {**env, **TAB_ENV, "XDG_CACHE_HOME": "/nonexistent"}
    programs = {"mqctl": [sys.executable, "-m", "mqctl"]}
    if options.baseline is not None:
        python = options.baseline / ".venv" / "bin" / "python"
        programs["baseline"] = [str(python), "-m", "mqctl"]
    floor, floor_cpu = median_of(options.runs, [sys.executable, "-c", "pass"], env)
    print(f"load average {os.getloadavg()[0]:.2f}; {options.runs} runs each; median wall (CPU)")
    print(f"  python -c pass           {floor:6.3f} s ({floor_cpu:.3f})")
    for name, argv in programs.items():
        cwd_env = env if name == "mqctl" else {**env, "PYTHONPATH": str(options.baseline)}
        version, version_cpu = median_of(options.runs, [*argv, "--version"], cwd_env)
        tab, tab_cpu = median_of(options.runs, argv, {**tab_env, **cwd_env, **TAB_ENV})
        print(f"  {name:<9} --version      {version:6.3f} s ({version_cpu:.3f})  target {TARGET}")
        print(f"  {name:<9} option TAB     {tab:6.3f} s ({tab_cpu:.3f})  target {TARGET}")
        if options.instructions:
            counts = [
                callgrind_instructions([*argv, "--version"], cwd_env),
                callgrind_instructions(argv, {**tab_env, **cwd_env, **TAB_ENV}),
            ]
            print(f"  {name:<9} instructions   --version {counts[0]:,}, option TAB {counts[1]:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

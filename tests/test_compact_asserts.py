"""A failing comparison of large values stays readable in CI (issue 16): pytest run as CI runs it
(CI=true, where pytest shows its whole diff) on failing comparisons of 1 MB payloads, with the
suite's own hook, prints kilobytes that say where the values differ."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.compact_asserts import explain_equality
from tests.conftest import ROOT

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
CHANGED = PAYLOAD[:500_000] + b"X" + PAYLOAD[500_001:]

FAILING = """
A = bytes(range(256)) * 4096
B = A[:500_000] + b"X" + A[500_001:]
def test_bytes():
    assert A == B
def test_text_lines():
    assert "\\n".join(map(str, range(150_000))) == "\\n".join(map(str, range(1, 150_001)))
def test_payload_in_a_dict():
    assert {"body": A, "n": 1} == {"body": B, "n": 1}
def test_small_values_keep_pytests_diff():
    assert {"a": 1, "b": 2} == {"a": 1, "b": 3}
"""


def test_failing_comparisons_of_1_mb_payloads_print_kilobytes_under_ci(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_assertrepr_compare  # noqa: F401\n", encoding="utf-8"
    )
    (tmp_path / "test_large.py").write_text(FAILING, encoding="utf-8")
    env = {**os.environ, "CI": "true", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "4 failed" in result.stdout
    assert len(result.stdout) < 30_000, f"{len(result.stdout):,} characters"
    # bytes and dict, each in its failure and in the short summary
    assert result.stdout.count("first difference at index 500,000;") == 4
    assert "first difference at index 0;" in result.stdout  # the lines
    assert "Differing items:" in result.stdout  # small values: pytest's own explanation


def test_the_explanation_names_the_place_and_the_window() -> None:
    lines = explain_equality({"body": PAYLOAD, "only": 1}, {"body": CHANGED})
    assert lines is not None
    assert lines[1:4] == [
        "the mapping: keys only on the left: ['only']",
        "['body']: bytes of 1,048,576 vs 1,048,576 items",
        "first difference at index 500,000; [499,968:500,032] of each:",
    ]
    assert lines[4].startswith("  left:  b'") and lines[5].startswith("  right: b'")
    assert "X" in lines[5] and "X" not in lines[4]
    assert explain_equality(b"small", b"other") is None

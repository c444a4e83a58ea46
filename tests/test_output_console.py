"""Diagnostics on stderr: plain text off a terminal (no rich), exactly what rich would write."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from mqctl import output
from mqctl.output.console import console_for, plain_text


def rich_writes(text: str) -> str:
    stream = io.StringIO()
    console_for(stream).print(Text(text), soft_wrap=True)
    return stream.getvalue()


@given(st.text())
def test_plain_text_is_what_a_colourless_rich_console_writes(text: str) -> None:
    plain = plain_text(text)
    if plain is None:  # a tab: rich writes it
        assert "\t" in text
    else:
        assert rich_writes(text) == plain + "\n"


@given(st.text(st.characters(codec="utf-8", exclude_characters="\t")))
def test_text_without_a_tab_takes_the_plain_path(text: str) -> None:
    assert plain_text(text) is not None


@pytest.mark.parametrize(
    ("say", "expected"),
    [
        (output.info, "valid:\tfine\r"),  # a tab: through rich
        (output.warn, "warning: valid: fine\r"),
        (output.error_line, "mqctl: error: valid: fine\r"),
    ],
)
def test_diagnostics_off_a_terminal(
    say: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(say)
    say("valid:\tfine\r" if "\t" in expected else "valid: fine\r")
    assert capsys.readouterr().err == rich_writes(expected)


def test_a_diagnostic_off_a_terminal_imports_no_rich() -> None:
    code = (
        "import sys\n"
        "from mqctl import output\n"
        "output.info('hello'); output.warn('careful'); output.error_line('broken')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'), file=sys.stdout)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr == "hello\nwarning: careful\nmqctl: error: broken\n"
    assert done.stdout.strip() == "[]"

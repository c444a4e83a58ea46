"""The completion scripts, and `--install-completion` / `--show-completion` that hand them out.

The scripts are generated from these templates by the program itself
(`_MQCTL_COMPLETE=source_bash mqctl`); completions/ holds them, checked by tools/check-completions,
and the options below print or install exactly the same text.

They speak typer's protocol (`_MQCTL_COMPLETE=complete_<shell>`, `COMP_WORDS`/`COMP_CWORD` for bash,
`_TYPER_COMPLETE_ARGS` for zsh and fish). Two of typer 0.24's scripts are replaced:

- bash: typer's falls back to file names whenever the answer is empty (`complete -o default`), so a
  queue name from a broker that is down would complete as a file name; names with spaces are not
  quoted; and it passes only COMP_WORDS, which bash splits at `:` and `=`, so `--api http://h:15672`
  reaches the program in pieces. Here the program also gets COMP_LINE/COMP_POINT (and
  COMP_WORDBREAKS), and the first line of its answer says how to treat the rest: `plain` words,
  `paths` (bash quotes them and finishes directories with `/`), or `files` (bash's own file names).
- zsh: typer's only registers itself when loaded from $fpath, so the first TAB completes nothing
  (click's completes the first TAB but not the second).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from mqctl.completion.shells import SUPPORTED, complete_var_for
from mqctl.errors import BadInput

BASH_TEMPLATE = """\
%(complete_func)s() {
    local IFS=$'\\n'
    local -a reply
    reply=( $(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \\
        COMP_LINE="$COMP_LINE" COMP_POINT=$COMP_POINT COMP_WORDBREAKS="$COMP_WORDBREAKS" \\
        %(autocomplete_var)s=complete_bash "$1") )
    case ${reply[0]-} in
        files) compopt -o default; COMPREPLY=() ;;
        paths) compopt -o filenames; COMPREPLY=( "${reply[@]:1}" ) ;;
        plain) COMPREPLY=( "${reply[@]:1}" ) ;;
        *) COMPREPLY=() ;;
    esac
    return 0
}

complete -F %(complete_func)s %(prog_name)s
"""

ZSH_TEMPLATE = """\
#compdef %(prog_name)s

# Loaded from $fpath, this file is the body of _%(prog_name)s: it redefines _%(prog_name)s as the
# function below and calls it; sourced, it defines it and registers it for %(prog_name)s.
_%(prog_name)s() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" %(autocomplete_var)s=complete_zsh %(prog_name)s)
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _%(prog_name)s "$@"
else
  compdef _%(prog_name)s %(prog_name)s
fi
"""

FISH_TEMPLATE = (
    "complete --command %(prog_name)s --no-files --arguments "
    '"(env %(autocomplete_var)s=complete_fish _TYPER_COMPLETE_FISH_ACTION=get-args '
    '_TYPER_COMPLETE_ARGS=(commandline -cp) %(prog_name)s)" --condition '
    '"env %(autocomplete_var)s=complete_fish _TYPER_COMPLETE_FISH_ACTION=is-args '
    '_TYPER_COMPLETE_ARGS=(commandline -cp) %(prog_name)s"\n'
)
TEMPLATES = {"bash": BASH_TEMPLATE, "zsh": ZSH_TEMPLATE, "fish": FISH_TEMPLATE}


def script(shell: str, prog_name: str = "mqctl") -> str:
    """The completion script for `shell`, as the program prints it (ends in one newline).

    Stripped, so that zsh finds `#compdef` on line one.
    """
    values = {
        "complete_func": f"_{re.sub(r'[^a-zA-Z0-9_]', '', prog_name.replace('-', '_'))}_completion",
        "autocomplete_var": complete_var_for(prog_name),
        "prog_name": prog_name,
    }
    return (TEMPLATES[shell] % values).strip() + "\n"


def install_target(
    shell: str, home: Path, prog_name: str = "mqctl"
) -> tuple[Path, Path | None, str]:
    """Where the script goes, which start-up file loads it, and the line that does (if needed).

    The same places as typer's installer: bash and zsh files are loaded from the shell's rc file;
    fish loads ~/.config/fish/completions/ by itself.
    """
    if shell == "bash":
        target = home / ".bash_completions" / f"{prog_name}.sh"
        return target, home / ".bashrc", f"source '{target}'"
    if shell == "zsh":
        target = home / ".zfunc" / f"_{prog_name}"
        return target, home / ".zshrc", "fpath+=~/.zfunc; autoload -Uz compinit; compinit"
    return home / ".config" / "fish" / "completions" / f"{prog_name}.fish", None, ""


def install(shell: str, home: Path | None = None, prog_name: str = "mqctl") -> Path:
    """Write the script and make the shell load it (idempotent); return the script's path."""
    home = home or Path.home()
    target, rc_file, line = install_target(shell, home, prog_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(script(shell, prog_name), encoding="utf-8")
    if rc_file is not None:
        current = rc_file.read_text(encoding="utf-8") if rc_file.is_file() else ""
        if line not in current.splitlines():
            separator = "" if not current or current.endswith("\n") else "\n"
            rc_file.write_text(f"{current}{separator}{line}\n", encoding="utf-8")
    return target


def detect_shell() -> str | None:
    """The shell mqctl runs under (its parent process), else the login shell ($SHELL)."""
    try:
        import shellingham  # type: ignore[import-untyped]  # typer's own dependency

        name = str(shellingham.detect_shell()[0])
    except Exception:  # not importable, or no shell among the parents
        name = os.path.basename(os.environ.get("SHELL", ""))
    name = re.sub(r"[^a-z]", "", name.lower())
    return name or None


def chosen_shell(value: str) -> str:
    """The shell named, else the one mqctl runs under; refused when it is not one of ours."""
    shell = value or detect_shell() or ""
    if shell not in SUPPORTED:
        found = (
            f"no completion for shell {shell!r}" if shell else "cannot tell which shell runs mqctl"
        )
        raise BadInput(found, f"name one: {', '.join(SUPPORTED)}")
    return shell


def show(value: str) -> None:
    """`--show-completion [SHELL]`: print the script."""
    sys.stdout.write(script(chosen_shell(value)))


def install_for(value: str) -> None:
    """`--install-completion [SHELL]`: install the script and say where."""
    shell = chosen_shell(value)
    path = install(shell)
    sys.stderr.write(f"{shell} completion installed in {path}; it takes effect in a new shell\n")

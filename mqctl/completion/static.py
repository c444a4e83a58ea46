"""Completers that need no broker: files by suffix, AMQP method names, profiles, keywords.

Each is a completer `(request, incomplete) -> [Candidate]` (see `mqctl.completion.items`) and must
never raise: a completer that fails completes nothing (the protocol guards too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mqctl.completion.items import DIR, FILE, LISTED_DIR, Candidate, Completer, Request

TOPOLOGY_SUFFIXES = (".yaml", ".yml", ".json")
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".gz")
DELIVERY_MODES = (
    ("persistent", "delivery mode 2: kept on disk"),
    ("transient", "delivery mode 1: memory only"),
    ("2", "persistent"),
    ("1", "transient"),
)
SHELLS = (("bash", "GNU bash"), ("zsh", "Z shell"), ("fish", "the friendly interactive shell"))
STREAM_OFFSETS = (
    ("first", "from the first message in the stream"),
    ("last", "from the last chunk in the stream"),
    ("next", "only messages published from now on"),
)


def suffix_completer(suffixes: Sequence[str]) -> Completer:
    """Completes files ending in one of `suffixes`, and directories (see `list_files`)."""

    def complete(request: Request, incomplete: str) -> list[Candidate]:
        return list_files(incomplete, suffixes)

    return complete


def keyword_completer(pairs: Sequence[tuple[str, str]]) -> Completer:
    """Completes fixed words, each with a short help text (shown by zsh and fish)."""

    def complete(request: Request, incomplete: str) -> list[Candidate]:
        return [Candidate(w, help=help) for w, help in pairs if w.startswith(incomplete)]

    return complete


complete_topology_files = suffix_completer(TOPOLOGY_SUFFIXES)
complete_captures = suffix_completer(CAPTURE_SUFFIXES)
complete_offsets = keyword_completer(STREAM_OFFSETS)
complete_delivery_modes = keyword_completer(DELIVERY_MODES)
complete_shells = keyword_completer(SHELLS)


def complete_any_file(request: Request, incomplete: str) -> list[Candidate]:
    """Leave it to the shell's own file-name completion."""
    return [Candidate(incomplete, type=FILE)]


def complete_any_dir(request: Request, incomplete: str) -> list[Candidate]:
    return [Candidate(incomplete, type=DIR)]


def list_files(incomplete: str, suffixes: Sequence[str]) -> list[Candidate]:
    """Files ending in one of `suffixes`, and directories, whose path starts with `incomplete`.

    Values keep the prefix as typed (`~/`, `./`, relative); directories end in `/`. Hidden entries
    are offered only when the name typed so far starts with a dot.
    """
    head, slash, prefix = incomplete.rpartition("/")
    head += slash
    directory = os.path.expanduser(head) if head else "."
    glob = _zsh_glob(suffixes)
    items: list[Candidate] = []
    try:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    items.append(Candidate(f"{head}{entry.name}/", type=LISTED_DIR, glob=glob))
                elif entry.name.lower().endswith(tuple(suffixes)):
                    items.append(Candidate(f"{head}{entry.name}", glob=glob))
    except OSError:
        return []
    return items


def _zsh_glob(suffixes: Sequence[str]) -> str:
    """`*.(yaml|yml|json)`: the pattern zsh's `_files -g` takes for the same suffixes."""
    return "*.(" + "|".join(suffix.lstrip(".") for suffix in suffixes) + ")"


def complete_methods(request: Request, incomplete: str) -> list[Candidate]:
    """`Basic.Publish`-style names and `Basic.*` globs; the typed case does not matter."""
    names = amqp_method_names()
    classes = sorted({name.partition(".")[0] for name in names}, key=str.lower)
    candidates = [*(f"{cls}.*" for cls in classes), *names]
    folded = incomplete.lower()
    return [Candidate(name) for name in candidates if name.lower().startswith(folded)]


def amqp_method_names() -> tuple[str, ...]:
    """Every AMQP 0-9-1 method name, from the codec's generated table."""
    from mqctl.wire.methods import METHODS

    return tuple(str(method.name) for method in METHODS)


def complete_interfaces(request: Request, incomplete: str) -> list[Candidate]:
    """Network interfaces of this machine, and `any` (the sniffer's all-interfaces name)."""
    import socket

    try:
        names = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        names = []
    return [Candidate(n) for n in ["any", *names] if n.startswith(incomplete)]


def complete_profiles(request: Request, incomplete: str) -> list[Candidate]:
    """Profile names from the profile file; a missing or broken file completes nothing."""
    import yaml

    from mqctl.config import config_path

    try:
        data = yaml.safe_load(config_path(os.environ).read_text(encoding="utf-8"))
        profiles = data.get("profiles") if isinstance(data, dict) else None
        names = sorted(str(name) for name in profiles) if isinstance(profiles, dict) else []
    except Exception:  # completion must never fail loudly
        return []
    return [Candidate(name) for name in names if name.startswith(incomplete)]

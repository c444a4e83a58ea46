"""Names from the live broker (queues, exchanges, vhosts) for completion: fast, cached, silent.

The connection options already typed on the line (`--url`, `--api`, `--profile`, `--vhost`, TLS),
before or after the command name, are honoured (the request carries them), then the environment and
the profile, exactly as the command itself would resolve them. The management API is asked with a
short timeout and a hard deadline for the whole look-up (DNS included); answers, and failures, are
kept for a few seconds in $XDG_CACHE_HOME/mqctl/ so that pressing TAB again is instant. Anything
that goes wrong completes nothing.

Cache files are named by a hash of (API URL without credentials, user, what, vhost) and hold only
those and the names: never a password, nor anything derived from one.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mqctl.completion.items import Candidate, Request
from mqctl.config import ConnectionOptions, ConnectionSettings, resolve

# Per request: connect and read each get this long. The whole look-up gets DEADLINE.
REQUEST_TIMEOUT = 1.0
DEADLINE = 2.0
CACHE_TTL = 5.0
TTL_ENV = "MQCTL_COMPLETION_TTL"  # seconds; 0 turns the cache off
CACHE_VERSION = 1

KINDS = ("queues", "exchanges", "vhosts", "connections")
# Listed broker-wide, not per vhost.
BROKER_WIDE = ("vhosts", "connections")


def names_completer(kind: str) -> Callable[[Request, str], list[Candidate]]:
    """Completes names of `kind` (queues, exchanges, vhosts) from the broker on the line."""

    def complete(request: Request, incomplete: str) -> list[Candidate]:
        return _matching(broker_names(kind, request), incomplete)

    return complete


complete_queues = names_completer("queues")
complete_exchanges = names_completer("exchanges")
complete_vhosts = names_completer("vhosts")
complete_connections = names_completer("connections")


def _matching(names: list[str], incomplete: str) -> list[Candidate]:
    return [Candidate(name) for name in names if name.startswith(incomplete)]


def broker_names(kind: str, request: Request) -> list[str]:
    """Sorted names of `kind` in the vhost the line selects; [] when anything fails."""
    try:
        settings = settings_on_line(request)
    except Exception:  # a bad profile or URL completes nothing, silently
        return []
    return cached_names(kind, settings)


CONNECTION_FIELDS = ("url", "api", "profile", "ca_cert", "client_cert", "client_key", "insecure")


def settings_on_line(request: Request) -> ConnectionSettings:
    """Resolve the connection options typed so far; with several `--vhost`, the last one."""
    given = {name: request.given.get(name) for name in CONNECTION_FIELDS}
    vhosts = request.given.get("vhost") or []
    return resolve(ConnectionOptions(vhost=vhosts[-1] if vhosts else None, **given))


def cached_names(kind: str, settings: ConnectionSettings) -> list[str]:
    ttl = cache_ttl()
    path = cache_file(kind, settings)
    if ttl > 0:
        cached = _read_cache(path, ttl)
        if cached is not None:
            return cached
    try:
        names = with_deadline(lambda: fetch_names(kind, settings), DEADLINE)
    except Exception:  # unreachable, refused, slow, not JSON: nothing to offer
        names = []
    if ttl > 0:
        # Failures are kept too: a broker that is down must not cost a timeout on every TAB.
        _write_cache(path, kind, settings, names)
    return names


def fetch_names(kind: str, settings: ConnectionSettings) -> list[str]:
    from mqctl.management import ManagementClient

    segments = (kind,) if kind in BROKER_WIDE else (kind, settings.vhost)
    with ManagementClient(settings, timeout=REQUEST_TIMEOUT) as client:
        rows = client.get(*segments, params={"columns": "name", "disable_stats": "true"})
    if not isinstance(rows, list):
        return []
    # The default exchange's name is "": nothing to type.
    return sorted({str(row["name"]) for row in rows if isinstance(row, dict) and row.get("name")})


def with_deadline(work: Callable[[], list[str]], deadline: float) -> list[str]:
    """Run `work` in a daemon thread; give up after `deadline` seconds (the thread dies at exit)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)

    import threading  # hashlib, tempfile, threading: only a broker look-up needs them

    thread = threading.Thread(target=run, name="mqctl-completion", daemon=True)
    thread.start()
    thread.join(deadline)
    if not outcome:
        raise TimeoutError(f"no answer within {deadline:g}s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: list[str] = outcome[0]
    return result


def cache_ttl() -> float:
    try:
        return max(0.0, float(os.environ.get(TTL_ENV, CACHE_TTL)))
    except ValueError:
        return CACHE_TTL


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "mqctl"


def cache_key(kind: str, settings: ConnectionSettings) -> dict[str, str]:
    """What a cached answer depends on; no password (api_url carries no credentials)."""
    return {
        "api": settings.api_url,
        "user": settings.api_username,
        "kind": kind,
        "vhost": "" if kind in BROKER_WIDE else settings.vhost,
    }


def cache_file(kind: str, settings: ConnectionSettings) -> Path:
    import hashlib

    key = json.dumps(cache_key(kind, settings), sort_keys=True)
    return cache_dir() / f"completion-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def _read_cache(path: Path, ttl: float) -> list[str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            return None
        age = time.time() - float(data["time"])
        names = data["names"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not 0 <= age < ttl or not isinstance(names, list):
        return None
    return [str(name) for name in names]


def _write_cache(path: Path, kind: str, settings: ConnectionSettings, names: list[str]) -> None:
    record = {
        "version": CACHE_VERSION,
        "time": time.time(),
        **cache_key(kind, settings),
        "names": names,
    }
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp makes the file 0600; written aside and renamed, a concurrent TAB never reads
        # half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".completion-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)

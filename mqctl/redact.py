"""Keep secrets out of everything mqctl prints.

Every password mqctl learns (from a URL, a profile, a file or the environment) is registered here, and
every line that leaves the program through `mqctl.output` or the error boundary is scrubbed of them —
so even a library's error message that quotes a URL cannot leak one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "****"

_secrets: set[str] = set()

# user:password@ in any URL-looking text, whatever the scheme.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]+)@")


def register_secret(secret: str | None) -> None:
    """Remember a secret so that `scrub` removes it from any text."""
    if secret:
        _secrets.add(secret)


def scrub(text: str) -> str:
    """Mask URL passwords and every registered secret in `text`.

    For diagnostics only (errors, logs, progress): data output such as message bodies must stay exact.
    """
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_url(url: str) -> str:
    """The URL with its password (if any) masked; the rest left as given."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        hostport = parts.netloc.rpartition("@")[2]
    except ValueError:
        return scrub(url)
    netloc = f"{parts.username or ''}:{MASK}@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

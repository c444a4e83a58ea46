"""Keep secrets out of everything mqctl prints.

Every password mqctl learns (from a URL, a profile, a file or the environment) is registered here, and
every line that leaves the program through `mqctl.output` or the error boundary is scrubbed of them —
so even a library's error message that quotes a URL cannot leak one.

URLs are masked by position, without trusting them to be well formed: a password with an unencoded
'/', '#', '?' or '@' must not leak exactly when it breaks the URL. User names are registered as
public: a password equal to (or inside) the user name is then masked everywhere except where the
user name itself is shown, so `user 'guest'` stays readable with guest:guest.
"""

from __future__ import annotations

import re

MASK = "****"

_secrets: set[str] = set()
_public: set[str] = set()
_MIN_SUBSTRING_SECRET = 4

# A scheme and '//', then everything up to the last '@' of the same whitespace-free run: in free
# text a URL's user info is what stands between the two, whatever characters the password holds.
# (A scheme of at most 32 characters keeps the search linear in a long run of letters.)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<userinfo>\S*)@")
# What ends a URL's authority (RFC 3986): after one of these an '@' cannot belong to the user info.
_AUTHORITY_END = re.compile(r"[/?#]")
# Our own hints show the form "amqp://USER:PASSWORD@HOST"; that placeholder is no secret.
_PLACEHOLDER = "USER:PASSWORD"


def register_secret(secret: str | None) -> None:
    """Remember a secret so that `scrub` removes it from any text."""
    if secret:
        _secrets.add(secret)


def register_public(value: str | None) -> None:
    """Remember a value that is shown on purpose (a user name), even if a secret equals it."""
    if value:
        _public.add(value)


def forget_all() -> None:
    """Drop every registered secret and public value: each in-process run of a test starts clean."""
    _secrets.clear()
    _public.clear()


def scrub(text: str) -> str:
    """Mask URL passwords and every registered secret in `text`.

    For diagnostics only (errors, logs, progress): data output such as message bodies must stay exact.
    """
    # Longest first, so a secret that contains another is masked whole; registered secrets before
    # the URL pattern, which could otherwise cut one in two and leave half of it. A secret that is
    # part of a public value is masked last and only outside that value's own occurrences.
    secrets = sorted(_secrets, key=len, reverse=True)
    shared = [s for s in secrets if any(s in value for value in _public)]
    for secret in secrets:
        if secret not in shared:
            text = _mask_secret(text, secret)
    if "://" in text:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
    for secret in shared:
        text = _mask_outside_public(text, secret)
    return text


def _secret_pattern(secret: str) -> str:
    # A very short secret is masked only where it stands as a word: masking every "p" would
    # garble the message.
    if len(secret) >= _MIN_SUBSTRING_SECRET:
        return re.escape(secret)
    return rf"(?<!\w){re.escape(secret)}(?!\w)"


def _mask_secret(text: str, secret: str) -> str:
    return re.sub(_secret_pattern(secret), MASK, text)


def _mask_outside_public(text: str, secret: str) -> str:
    """Mask `secret` except inside the occurrences of the public values that contain it."""
    holders = sorted((value for value in _public if secret in value), key=len, reverse=True)
    public = "|".join(re.escape(value) for value in holders)
    pattern = re.compile(f"(?P<public>{public})|{_secret_pattern(secret)}")
    return pattern.sub(lambda match: match["public"] or MASK, text)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match["userinfo"]
    if userinfo == _PLACEHOLDER:
        return match[0]
    return f"{match['scheme']}{_masked_userinfo(userinfo)}@"


def _masked_userinfo(userinfo: str) -> str:
    """`user:****` for a well-formed user info, `****` when its end cannot be told for sure."""
    if _AUTHORITY_END.search(userinfo):
        return MASK  # an unencoded '/', '?' or '#': where the user name ends is anyone's guess
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else userinfo


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """`(scheme://, user info or None, rest after its '@')`, by position, never raising.

    The user info runs to the last '@' of the URL: an '@' after the authority (in the path, query
    or fragment) most often means a password with an unencoded '/', '?' or '#'.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url, None, ""
    userinfo, _, after = rest.rpartition("@")
    return f"{scheme}://", userinfo, after


def userinfo_is_ambiguous(userinfo: str) -> bool:
    """True when the user info holds a character that ends a URL's authority ('/', '?', '#')."""
    return bool(_AUTHORITY_END.search(userinfo))


def redact_url(url: str) -> str:
    """The URL with its password (if any) masked; the rest left as given.

    Works on any text: when the URL is malformed, everything from '//' to its last '@' is masked.
    """
    head, userinfo, after = split_userinfo(url)
    if userinfo is None:
        return url
    return f"{head}{_masked_userinfo(userinfo)}@{after}"

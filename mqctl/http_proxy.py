"""The HTTP proxy that requests takes from the environment, named so that messages can blame it.

requests sends the management API's traffic through `http_proxy`/`https_proxy`/`all_proxy` unless
`no_proxy` lists the broker; a proxy's own refusal (a 403 page, a 502) then looks like RabbitMQ's.
RabbitMQ's management API answers every error with JSON, a proxy seldom does: that tells them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from mqctl.redact import redact_url, register_secret, split_userinfo


@dataclass(frozen=True)
class EnvironmentProxy:
    url: str  # shown without its password
    variables: tuple[str, ...]  # the environment variables that name it, as set

    @property
    def named(self) -> str:
        return f"the HTTP proxy {self.url} (from {', '.join(self.variables)})"

    def hint(self, host: str) -> str:
        return (
            f"add the broker to no_proxy (export no_proxy={host}), "
            f"or unset {' and '.join(self.variables)}"
        )


def environment_proxy(url: str) -> EnvironmentProxy | None:
    """The proxy requests would use for `url`, or None (none set, or `no_proxy` covers it)."""
    proxies = requests.utils.get_environ_proxies(url)
    scheme = urlsplit(url).scheme
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return None
    _, userinfo, _ = split_userinfo(proxy)
    if userinfo is not None:
        register_secret(userinfo.partition(":")[2])
    names = (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY")
    variables = tuple(name for name in names if os.environ.get(name))
    return EnvironmentProxy(redact_url(proxy), variables)

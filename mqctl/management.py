"""A small client for RabbitMQ's management HTTP API (one keep-alive session, errors translated).

Paths are given as segments and each is percent-encoded whole, so names with '/', '%', spaces or
unicode reach the broker intact: `client.get("queues", vhost, name)`.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from mqctl.config import ConnectionSettings
from mqctl.errors import AccessRefused, BrokerError, Unreachable
from mqctl.redact import redact_url, register_secret, split_userinfo
from mqctl.tls_failures import answered_without_tls, handshake_hint

DEFAULT_TIMEOUT = 15.0
# Listings and the broker-wide reads of show/health/top: the first byte of a list comes only once
# the broker has built all of it, which takes tens of seconds for 100,000 queues on a busy node.
LIST_TIMEOUT = 120.0
# The largest page the management API serves (it answers 400 above).
MAX_PAGE_SIZE = 500
STREAM_CHUNK = 256 * 1024


def api_path(*segments: str) -> str:
    """`/api/seg1/seg2...` with every segment encoded whole (`/` becomes %2F)."""
    return "/api/" + "/".join(quote(segment, safe="") for segment in segments)


class ManagementClient:
    def __init__(self, settings: ConnectionSettings, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.settings = settings
        self.base_url = settings.api_url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (settings.api_username, settings.api_password)
        self.session.headers["content-type"] = "application/json"
        # Uncompressed answers: RabbitMQ's gzip of a long list costs it CPU a local broker does
        # not need spent (10,000 queues on 4.3.6: 2.08 s of broker CPU uncompressed, 2.42 s
        # gzipped; README, "Listing many objects").
        self.session.headers["accept-encoding"] = "identity"
        tls = settings.tls
        self.session.verify = False if tls.insecure else (str(tls.ca_cert) if tls.ca_cert else True)
        if tls.client_cert:
            self.session.cert = (
                (str(tls.client_cert), str(tls.client_key))
                if tls.client_key
                else str(tls.client_cert)
            )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, *segments: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", *segments, params=params)

    def put(self, *segments: str, body: Any = None) -> Any:
        return self.request("PUT", *segments, body=body)

    def post(self, *segments: str, body: Any = None) -> Any:
        return self.request("POST", *segments, body=body)

    def delete(
        self,
        *segments: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.request("DELETE", *segments, params=params, headers=headers)

    def stream(self, *segments: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """The objects of a list endpoint, parsed as the response arrives (bounded memory)."""
        from mqctl.jsonstream import NotAnArray, iter_json_array

        path = api_path(*segments)
        response = self._send("GET", path, params=params, stream=True)
        try:
            if response.status_code >= 400:
                self._result("GET", path, response)
            try:
                yield from iter_json_array(response.iter_content(STREAM_CHUNK))
            except (NotAnArray, UnicodeDecodeError, ValueError) as exc:
                raise BrokerError(
                    f"GET {path}: the management API's answer is not a JSON list ({exc})",
                    "check that --api points at RabbitMQ's management plugin",
                ) from None
            except requests.exceptions.RequestException as exc:
                raise Unreachable(
                    f"the management API at {self.base_url} broke off the answer to GET {path}: "
                    f"{_reason(exc)}",
                    "try again; with many objects, --page-size asks for them page by page",
                ) from None
        finally:
            response.close()

    def pages(
        self, *segments: str, params: dict[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[Any]:
        """The objects of a list endpoint through the API's own pagination, page after page.

        Endpoints that do not paginate (bindings, users, ...) answer with the whole list, which
        is then given as it is. Each page makes the broker build the whole list again: see
        README ("Listing many objects") for what that costs.
        """
        page = 1
        while True:
            query = {**(params or {}), "page": page, "page_size": page_size, "pagination": "true"}
            try:
                answer = self.get(*segments, params=query)
            except BrokerError as exc:
                if exc.reply_code == 400 and page > 1:
                    return  # the list shrank under us: the page is out of range now
                raise
            if isinstance(answer, list):
                yield from answer
                return
            yield from answer.get("items", [])
            if page >= int(answer.get("page_count") or 0):
                return
            page += 1

    def check(self, *segments: str) -> tuple[int, Any]:
        """A health-check endpoint's HTTP status and JSON body: a failed check (503) and an
        endpoint this broker lacks (404) are answers, not errors. 401 is still refused."""
        path = api_path(*segments)
        response = self._send("GET", path)
        if response.status_code in (404, 503):
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, None
        return response.status_code, self._result("GET", path, response)

    def exists(self, *segments: str) -> bool:
        try:
            self.get(*segments)
        except BrokerError as exc:
            if exc.reply_code == 404:
                return False
            raise
        return True

    def request(
        self,
        method: str,
        *segments: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        path = api_path(*segments)
        response = self._send(method, path, params=params, body=body, headers=headers)
        return self._result(method, path, response)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        stream: bool = False,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        try:
            return self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                timeout=self.timeout,
                stream=stream,
                headers=headers,
            )
        except requests.exceptions.SSLError as exc:
            raise self._tls_failure(_ssl_reason(exc)) from None
        except requests.exceptions.Timeout:
            raise Unreachable(
                f"no answer from the management API at {self.base_url} within {self.timeout:g}s",
                "check --api and that the broker is up",
            ) from None
        except requests.exceptions.ProxyError as exc:
            proxy = environment_proxy(self.base_url)
            where = proxy.named if proxy else "the HTTP proxy"
            raise Unreachable(
                f"cannot reach the management API at {self.base_url} through {where}: "
                f"{_reason(exc)}",
                proxy.hint(self.settings.host) if proxy else "check the proxy settings",
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if "RemoteDisconnected" in str(exc):
                # Connected, asked, and the broker hung up: it gives a request about a minute.
                raise Unreachable(
                    f"the management API at {self.base_url} closed the connection without "
                    f"answering {method} {path} (RabbitMQ stops a request after about 60 s)",
                    "for a long list try --page-size 500 or fewer --columns; or retry when the "
                    "broker is less busy",
                ) from None
            raise Unreachable(
                f"cannot reach the management API at {self.base_url}: {_reason(exc)}",
                "check --api, and that the rabbitmq_management plugin is enabled",
            ) from None

    def _tls_failure(self, reason: str) -> Unreachable:
        if answered_without_tls(reason):
            plain = "http://" + self.base_url.removeprefix("https://")
            return Unreachable(
                f"the management API at {self.base_url} did not answer TLS ({reason}): "
                "it looks like a plain HTTP port",
                f"use --api {plain}, or the HTTPS port (15671 by default)",
            )
        return Unreachable(
            f"TLS handshake with the management API at {self.base_url} failed: {reason}",
            handshake_hint(self.settings.tls.insecure),
        )

    def _result(self, method: str, path: str, response: requests.Response) -> Any:
        if response.status_code >= 400 and response.content and not _is_json(response):
            proxy = environment_proxy(self.base_url)
            if proxy is not None:
                raise self._from_proxy(method, path, response, proxy)
        if response.status_code == 401:
            raise self._refusal(method, path, _api_reason(response))
        if response.status_code >= 400:
            reason = _api_reason(response)
            raise BrokerError(
                f"{method} {path} failed: {response.status_code} {reason}",
                _HTTP_HINTS.get(response.status_code),
                reply_code=response.status_code,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BrokerError(
                f"{method} {path}: the management API answered with something that is not JSON",
                "check that --api points at RabbitMQ's management plugin",
            ) from None

    def _from_proxy(
        self, method: str, path: str, response: requests.Response, proxy: EnvironmentProxy
    ) -> Unreachable:
        status = f"{response.status_code} {response.reason or ''}".rstrip()
        return Unreachable(
            f"{method} {path}: {status} came from {proxy.named}, not from RabbitMQ "
            "(its management API answers JSON)",
            proxy.hint(self.settings.host),
        )

    def _refusal(self, method: str, path: str, reason: str) -> AccessRefused:
        """A 401 says why in its reason: the login, the user's tags, or the vhost's permissions."""
        user = self.settings.api_username
        known = _UNAUTHORISED.get(reason)
        if known is None:
            return AccessRefused(
                f"the management API refused user {user!r}: {reason}",
                "check the user's password, tags and permissions",
            )
        message, hint = known
        return AccessRefused(
            message.format(user=repr(user), request=f"{method} {path}"),
            hint.format(user=user),
        )


# RabbitMQ's reasons for a 401, each as the message and hint it deserves.
_LOGIN_FAILED = (
    "the management API refused the login of user {user}",
    "check the user name and password (--url, --api or the profile)",
)
_UNAUTHORISED = {
    "Login failed": _LOGIN_FAILED,
    "Not_Authorized": _LOGIN_FAILED,  # RabbitMQ 4.x's word for the same
    "Not management user": (
        "user {user} has no management tag, which the management API requires",
        "tag it (rabbitmqctl set_user_tags {user} management) or use another user",
    ),
    "Not administrator user": (
        "{request} needs an administrator, and user {user} is not one",
        "use a user tagged administrator (rabbitmqctl set_user_tags {user} administrator)",
    ),
    "Not monitor user": (
        "{request} needs a user tagged monitoring or administrator; user {user} is neither",
        "use such a user (rabbitmqctl set_user_tags {user} monitoring)",
    ),
    "User not authorised to access virtual host": (
        "{request}: user {user} may not access this vhost",
        "check that the vhost exists and the user's permissions on it",
    ),
}

_HTTP_HINTS = {
    400: "the broker rejected the request's values",
    403: "the user lacks the permission or tag this needs",
    404: "check the name and the vhost",
}


def _is_json(response: requests.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _api_reason(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason or "error"
    if isinstance(data, dict):
        return one_line(str(data.get("reason") or data.get("error") or response.reason))
    return response.reason or "error"


def one_line(text: str) -> str:
    """A broker's reason as one line: RabbitMQ's validation errors span lines and some are
    HTML-escaped (`&lt;&lt;"x"&gt;&gt;`)."""
    return " ".join(html.unescape(text).split())


# Phrases in urllib3's long connection errors, and how to say them in one line.
_CONNECT_REASONS = {
    "Failed to resolve": "cannot resolve host",
    "Name or service not known": "name or service not known",
    "Connection refused": "connection refused",
}


_SSL_REASON = re.compile(r"\[SSL: (?P<reason>[A-Z_]+)\]")


def _ssl_reason(exc: BaseException) -> str:
    """OpenSSL's reason (CERTIFICATE_VERIFY_FAILED, ...) out of requests' nested message."""
    match = _SSL_REASON.search(str(exc))
    return match["reason"] if match else _reason(exc)


def _reason(exc: BaseException) -> str:
    """The innermost, human part of a requests/urllib3 connection error."""
    text = str(exc)
    for marker, reason in _CONNECT_REASONS.items():
        if marker in text:
            return reason
    inner = exc.__context__ or exc.__cause__
    return str(inner or exc).split(": ", 1)[-1][:200]


# --- the HTTP proxy of the environment --------------------------------------------------------
# requests sends the API's traffic through http_proxy/https_proxy/all_proxy unless no_proxy lists
# the broker; a proxy's own refusal (a 403 page, a 502) then looks like RabbitMQ's. RabbitMQ's
# management API answers every error with JSON, a proxy seldom does: that tells them apart.


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

"""mqctl health: the broker's own health checks, plus per-queue thresholds, with Nagios statuses.

Each check gives OK, WARNING, CRITICAL or UNKNOWN (Nagios's 0, 1, 2, 3); the command exits with
the worst (CRITICAL over UNKNOWN over WARNING over OK). A check this broker's API lacks (the
deprecated-features API came with RabbitMQ 3.13) is SKIPPED when it is one of the defaults, and
UNKNOWN when it was asked for by name. An unreachable broker is mqctl's exit 3, which Nagios also
reads as UNKNOWN; bad input is mqctl's 4 (Nagios: UNKNOWN as well).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from mqctl.errors import BadInput
from mqctl.management import ManagementClient


class Status(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


# Which status wins when several checks report.
_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    message: str
    skipped: bool = False  # the broker cannot answer this check; it does not count

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": "SKIPPED" if self.skipped else self.status.name,
            "message": self.message,
        }

    def line(self) -> str:
        status = "SKIPPED" if self.skipped else self.status.name
        return f"{status} {self.check}: {self.message}"


@dataclass
class HealthReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def status(self) -> Status:
        counted = [r.status for r in self.results if not r.skipped]
        return max(counted, key=_SEVERITY.__getitem__, default=Status.OK)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.skipped and r.status is not Status.OK]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.name,
            "exit_status": int(self.status),
            "checks": [r.to_json() for r in self.results],
        }


# --- the broker's checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class HealthSettings:
    checks: tuple[str, ...] = ()  # () every check in DEFAULT_CHECKS
    certificate_days: int = 30  # certificates expiring sooner than this are CRITICAL
    thresholds: tuple[Threshold, ...] = ()
    vhost: str | None = None  # thresholds look at this vhost's queues (None: every vhost)


Check = Callable[[ManagementClient, HealthSettings], list[CheckResult]]


def _endpoint_check(name: str, *segments: str) -> Check:
    """A check answered by one of the API's /api/health/checks endpoints."""

    def run(client: ManagementClient, settings: HealthSettings) -> list[CheckResult]:
        code, body = client.check("health", "checks", *segments)
        return [_from_endpoint(name, code, body)]

    return run


def _from_endpoint(name: str, code: int, body: Any) -> CheckResult:
    body = body if isinstance(body, dict) else {}
    if code == 404:
        return CheckResult(name, Status.UNKNOWN, "this broker's API has no such check", True)
    if body.get("status") == "ok" or code == 200:
        return CheckResult(name, Status.OK, str(body.get("reason") or "ok"))
    return CheckResult(name, Status.CRITICAL, _failure_text(body))


def _failure_text(body: dict[str, Any]) -> str:
    reason = str(body.get("reason") or "failed")
    alarms = body.get("alarms")
    if isinstance(alarms, list) and alarms:
        named = ", ".join(f"{a.get('resource')} on {a.get('node')}" for a in alarms)
        return f"{reason} ({named})"
    return reason


def _certificates(client: ManagementClient, settings: HealthSettings) -> list[CheckResult]:
    days = settings.certificate_days
    code, body = client.check("health", "checks", "certificate-expiration", str(days), "days")
    result = _from_endpoint("certificates", code, body)
    if result.status is Status.OK:
        tls = [item for item in _listeners(client) if _is_tls(item)]
        where = ", ".join(f"{item.get('protocol')} {item.get('port')}" for item in tls)
        message = (
            f"no certificate on the TLS listeners ({where}) expires within {days} days"
            if tls
            else "no TLS listeners"
        )
        return [CheckResult("certificates", Status.OK, message)]
    return [result]


def _listeners(client: ManagementClient) -> list[dict[str, Any]]:
    data = client.get("overview", params={"columns": "listeners"}) or {}
    return list(data.get("listeners") or [])


def _is_tls(listener: dict[str, Any]) -> bool:
    protocol = str(listener.get("protocol") or "")
    opts = listener.get("socket_opts")
    return protocol.endswith(("/ssl", "-ssl", "s")) or (
        isinstance(opts, dict) and ("certfile" in opts or "cacertfile" in opts)
    )


def _listener_checks(client: ManagementClient, settings: HealthSettings) -> list[CheckResult]:
    results = []
    ports = sorted({int(item["port"]) for item in _listeners(client) if item.get("port")})
    for port in ports:
        code, body = client.check("health", "checks", "port-listener", str(port))
        result = _from_endpoint("listeners", code, body)
        if result.status is Status.OK:
            result = CheckResult("listeners", Status.OK, f"port {port} is listening")
        results.append(result)
    return results or [CheckResult("listeners", Status.CRITICAL, "the broker reports no listeners")]


def _deprecated(client: ManagementClient, settings: HealthSettings) -> list[CheckResult]:
    code, body = client.check("deprecated-features", "used")
    if code == 404:
        return [
            CheckResult(
                "deprecated-features",
                Status.UNKNOWN,
                "this broker's API does not list deprecated features (RabbitMQ 3.13 and later do)",
                True,
            )
        ]
    used = [str(f.get("name")) for f in body or [] if isinstance(f, dict)]
    if used:
        return [CheckResult("deprecated-features", Status.WARNING, "in use: " + ", ".join(used))]
    return [CheckResult("deprecated-features", Status.OK, "none in use")]


CHECKS: dict[str, Check] = {
    "alarms": _endpoint_check("alarms", "alarms"),
    "local-alarms": _endpoint_check("local-alarms", "local-alarms"),
    "quorum-critical": _endpoint_check("quorum-critical", "node-is-quorum-critical"),
    "deprecated-features": _deprecated,
    "listeners": _listener_checks,
    "vhosts": _endpoint_check("vhosts", "virtual-hosts"),
    "certificates": _certificates,
}
CHECK_NAMES = tuple(CHECKS)


# --- thresholds -------------------------------------------------------------------------------

METRICS = {
    # option: (queue field, "max" or "min")
    "max-messages": ("messages", "max"),
    "max-unacked": ("messages_unacknowledged", "max"),
    "min-consumers": ("consumers", "min"),
}


@dataclass(frozen=True)
class Threshold:
    """`--max-messages [GLOB=]CRIT` or `[GLOB=]WARN,CRIT`: for queues whose name matches GLOB
    (every queue without one), beyond WARN is WARNING and beyond CRIT is CRITICAL."""

    metric: str
    pattern: str
    warning: int | None
    critical: int

    @classmethod
    def parse(cls, metric: str, spec: str) -> Threshold:
        pattern, sep, limits = spec.rpartition("=")
        if not sep:
            pattern = "*"
        parts = limits.split(",")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) not in (1, 2) or any(n < 0 for n in numbers) or not pattern:
            raise BadInput(
                f"--{metric} {spec!r}: expected [GLOB=]LIMIT or [GLOB=]WARN,CRIT",
                f"e.g. --{metric} 'orders.*=1000,5000'",
            )
        warning, critical = (numbers[0], numbers[1]) if len(numbers) == 2 else (None, numbers[0])
        return cls(metric, pattern, warning, critical)

    def judge(self, value: int) -> Status:
        if self._beyond(value, self.critical):
            return Status.CRITICAL
        if self.warning is not None and self._beyond(value, self.warning):
            return Status.WARNING
        return Status.OK

    def _beyond(self, value: int, limit: int) -> bool:
        return value > limit if METRICS[self.metric][1] == "max" else value < limit

    def describe(self) -> str:
        field, way = METRICS[self.metric]
        limits = (
            f"{self.warning},{self.critical}" if self.warning is not None else str(self.critical)
        )
        return f"{field} {'at most' if way == 'max' else 'at least'} {limits}"


def _threshold_results(client: ManagementClient, settings: HealthSettings) -> list[CheckResult]:
    columns = "name,vhost,messages,messages_unacknowledged,consumers"
    segments = ("queues", settings.vhost) if settings.vhost is not None else ("queues",)
    results: list[CheckResult] = []
    counts = {t: 0 for t in settings.thresholds}
    for queue in client.stream(*segments, params={"columns": columns}):
        name = str(queue.get("name"))
        for threshold in settings.thresholds:
            if not fnmatch.fnmatchcase(name, threshold.pattern):
                continue
            counts[threshold] += 1
            field = METRICS[threshold.metric][0]
            if queue.get(field) is None:  # the API has no figure for it yet (stats lag)
                results.append(
                    CheckResult(
                        f"{threshold.metric} {threshold.pattern}",
                        Status.UNKNOWN,
                        f"queue {name!r} in vhost {queue.get('vhost')!r}: the API gives no "
                        f"{field} yet (its statistics come with the next stats interval)",
                    )
                )
                continue
            value = int(queue[field])
            status = threshold.judge(value)
            if status is not Status.OK:
                results.append(
                    CheckResult(
                        f"{threshold.metric} {threshold.pattern}",
                        status,
                        f"queue {name!r} in vhost {queue.get('vhost')!r} has {field} {value} "
                        f"(wanted {threshold.describe()})",
                    )
                )
    for threshold, seen in counts.items():
        check = f"{threshold.metric} {threshold.pattern}"
        if not seen:
            results.append(
                CheckResult(check, Status.UNKNOWN, f"no queue matches {threshold.pattern!r}")
            )
        elif not any(r.check == check for r in results):
            noun = "queue" if seen == 1 else "queues"
            results.append(
                CheckResult(check, Status.OK, f"{seen} {noun} within {threshold.describe()}")
            )
    return results


def run_health(client: ManagementClient, settings: HealthSettings) -> HealthReport:
    unknown = [name for name in settings.checks if name not in CHECKS]
    if unknown:
        raise BadInput(f"unknown check {unknown[0]!r}", f"checks: {', '.join(CHECK_NAMES)}")
    named = bool(settings.checks)
    wanted: Sequence[str] = settings.checks or (CHECK_NAMES if not settings.thresholds else ())
    report = HealthReport()
    for name in wanted:
        for result in CHECKS[name](client, settings):
            if named and result.skipped:
                result = CheckResult(result.check, Status.UNKNOWN, result.message)
            report.results.append(result)
    if settings.thresholds:
        report.results.extend(_threshold_results(client, settings))
    return report


def parse_thresholds(options: Iterable[tuple[str, Iterable[str]]]) -> tuple[Threshold, ...]:
    """(metric, specs) pairs from the command's options, as Thresholds."""
    return tuple(Threshold.parse(metric, spec) for metric, specs in options for spec in specs)

"""`mqctl health` on a real memory alarm, raised on the 4.x broker in its own network namespace
(scripts/brokers), never on the shared system broker. scripts/test runs it on its rabbitmq4 leg:

    scripts/brokers run rabbitmq4 .venv/bin/python -m pytest tests/test_operate_alarm.py
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from mqctl.operate import health, show
from tests.conftest import BROKER_NAME, ROOT
from tests.operate_helpers import client, wait_for

pytestmark = pytest.mark.skipif(
    BROKER_NAME != "rabbitmq4",
    reason="sets a memory watermark: only on the 4.x broker of scripts/brokers (rabbitmq4 leg)",
)

BROKERS = ROOT / "scripts" / "brokers"


def ctl(*args: str) -> str:
    done = subprocess.run(
        [str(BROKERS), "ctl", "single", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def memory_alarm(broker: str) -> Iterator[None]:
    """The node's memory watermark set below what it uses, restored afterwards."""
    found = re.search(
        r"Memory high watermark setting: ([0-9.]+) of available memory", ctl("status")
    )
    original = found.group(1) if found else "0.6"
    ctl("set_vm_memory_high_watermark", "0.0001")
    try:
        yield
    finally:
        ctl("set_vm_memory_high_watermark", original)


def alarms_report() -> health.HealthReport:
    with client("/") as c:
        return health.run_health(c, health.HealthSettings(checks=("alarms", "local-alarms")))


def report_when(status: health.Status) -> health.HealthReport | None:
    report = alarms_report()
    return report if report.status is status else None


def test_health_fails_on_a_memory_alarm(memory_alarm: None) -> None:
    report = wait_for(
        lambda: report_when(health.Status.CRITICAL), "the memory alarm in the health checks"
    )
    lines = [r.line() for r in report.failures]
    assert len(lines) == 2
    assert lines[0].startswith("CRITICAL alarms: ") and "memory on rabbit@" in lines[0]
    assert lines[1].startswith("CRITICAL local-alarms: ")

    def overview_alarms() -> list[str]:  # the nodes' figures follow with the stats interval
        with client("/") as c:
            return [a["resource"] for a in show.overview(c)["alarms"]]

    assert wait_for(overview_alarms, "the alarm in show overview") == ["memory"]


def test_health_is_ok_without_the_alarm(broker: str) -> None:
    report = wait_for(lambda: report_when(health.Status.OK), "no alarm")
    assert [r.line() for r in report.results] == ["OK alarms: ok", "OK local-alarms: ok"]

"""Connection behaviour that differs between the broker versions of the matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqctl.cli import main
from tests.conftest import AMQP_URL, BROKER_ADDRESS

pytestmark = pytest.mark.broker


def test_a_frame_max_below_8192_is_named_where_4_1_refuses_it(
    broker: str,
    broker_version: tuple[int, ...],
    capsys: pytest.CaptureFixture[str],
    clean_env: Path,
) -> None:
    url = AMQP_URL + "?frame_max=4096"
    status = main(["get", "--queue", "mqctl-test-frame-max-nothing", "--url", url])
    err = capsys.readouterr().err
    if broker_version >= (4, 1):
        assert status == 3
        assert err == (
            f"mqctl: error: {BROKER_ADDRESS} closed the connection while opening it with "
            "frame_max=4096: RabbitMQ 4.1 and later refuse a frame_max below 8192 (or vhost '/' "
            "does not exist, or user 'guest' may not use it); give frame_max=8192 or more in the "
            "URL, or leave it out\n"
        )
    else:  # 4096 is fine: the connection opens, and the queue is not there
        assert status == 1
        assert "404 NOT_FOUND - no queue 'mqctl-test-frame-max-nothing'" in err

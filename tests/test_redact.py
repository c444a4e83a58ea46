"""Secrets never leave through diagnostics."""

from __future__ import annotations

from mqctl.redact import redact_url, register_secret, scrub


def test_redact_url_masks_only_the_password() -> None:
    assert (
        redact_url("amqp://user:pw@host:5672/v?heartbeat=1")
        == "amqp://user:****@host:5672/v?heartbeat=1"
    )
    assert redact_url("amqp://user@host/v") == "amqp://user@host/v"
    assert redact_url("amqps://u:p@[::1]:5671/") == "amqps://u:****@[::1]:5671/"


def test_redact_url_on_unparseable_url_still_masks() -> None:
    assert redact_url("amqp://u:hunter2@[bad/") == "amqp://u:****@[bad/"


def test_scrub_masks_urls_and_registered_secrets() -> None:
    register_secret("correct-horse-battery")
    text = "failed at amqp://bob:xyz@h/ with correct-horse-battery in it"
    assert scrub(text) == "failed at amqp://bob:****@h/ with **** in it"


def test_scrub_keeps_the_placeholder_of_our_hints() -> None:
    hint = "use amqp://USER:PASSWORD@HOST:PORT/VHOST"
    assert scrub(hint) == hint

"""Secrets never leave through diagnostics."""

from __future__ import annotations

from mqctl.redact import forget_all, redact_url, register_public, register_secret, scrub


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


def test_redact_url_masks_from_the_scheme_to_the_last_at_when_malformed() -> None:
    # An unencoded '/', '?' or '#' in the password: where the user name ends cannot be told.
    assert redact_url("amqp://u:p@ss:w/rd%41 #?&@host/v") == "amqp://****@host/v"
    assert redact_url("amqp://u:Sec/retXYZ@localhost:5672/v") == "amqp://****@localhost:5672/v"
    assert redact_url("amqp://u:Sec#retXYZ@localhost:5672/v") == "amqp://****@localhost:5672/v"
    # '@', ':' and spaces in a password leave the user name readable.
    assert redact_url("amqp://u:p@s s:w@host/v") == "amqp://u:****@host/v"
    assert redact_url("not a url") == "not a url"


def test_scrub_masks_a_broken_url_in_free_text() -> None:
    forget_all()
    assert scrub("bad 'amqp://u:Sec/ret?XYZ@h:1/v' here") == "bad 'amqp://****@h:1/v' here"


def test_scrub_never_halves_a_registered_secret() -> None:
    # The URL pattern alone would mask only 'a:bcdefghij' and leave 'x y://' of the password.
    forget_all()
    register_secret("x y://a:bcdefghij")
    assert scrub("amqp://u:x y://a:bcdefghij@host/v") == "amqp://u:****@host/v"


def test_a_password_equal_to_the_user_name_is_masked_only_where_it_is_the_password() -> None:
    forget_all()
    register_secret("guest")
    register_public("guest")
    register_secret("hunter22")
    register_public("bob-hunter22")
    text = (
        "authenticated user was 'guest' at amqp://guest:guest@h/; "
        "user 'bob-hunter22' typed hunter22"
    )
    assert scrub(text) == (
        "authenticated user was 'guest' at amqp://guest:****@h/; user 'bob-hunter22' typed ****"
    )


def test_a_password_holding_the_user_name_is_masked_whole() -> None:
    forget_all()
    register_secret("bob-and-more")
    register_public("bob")
    assert scrub("user 'bob' sent bob-and-more") == "user 'bob' sent ****"


def test_scrub_stays_linear_on_a_long_run_of_letters() -> None:
    # The scheme pattern once backtracked over every letter at every letter: 40,000 letters took
    # 13 s. Bounded to 32 characters, 100,000 take milliseconds (5 s is slack for a loaded machine).
    import time

    forget_all()
    text = "a" * 100_000 + " amqp://u:pw@h/"
    started = time.monotonic()
    assert scrub(text).endswith(" amqp://u:****@h/")
    assert time.monotonic() - started < 5

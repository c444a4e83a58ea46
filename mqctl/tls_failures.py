"""What a failed TLS handshake means, in one place for the AMQP and the management clients.

A port that does not speak TLS at all (a plain amqp:// or http:// port) fails the handshake with one
of a few OpenSSL reasons; saying "check --ca-cert, or --insecure" then points the wrong way.
"""

from __future__ import annotations

# OpenSSL's reasons when the other end answered with something that is not TLS.
NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")


def answered_without_tls(reason: str) -> bool:
    upper = reason.upper().replace(" ", "_")
    return any(marker in upper for marker in NOT_TLS_REASONS)


def handshake_hint(insecure: bool) -> str:
    """The hint for a handshake that failed for another reason than a plain port."""
    if insecure:
        return "verification is already off (--insecure): check the broker's TLS listener and log"
    return "check --ca-cert, or --insecure to skip verification"

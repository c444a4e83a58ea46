"""The values that `wire` option definitions need, in a module that imports none of the codec.

The command tree is built at every start and every completion TAB; the modules that use these
values (filters, pipeline, renderers) import the generated spec tables, so the commands take the
choices from here and those modules re-export them.
"""

from __future__ import annotations

from enum import StrEnum


class RecordType(StrEnum):
    """What `--type` selects; mqctl.wire.filters.record_type names each record with one of them."""

    protocol_header = "protocol-header"
    method = "method"
    header = "header"
    body = "body"
    heartbeat = "heartbeat"
    gap = "gap"
    error = "error"


RECORD_TYPES = tuple(kind.value for kind in RecordType)

# TCP ports read as AMQP without waiting for a protocol header (amqp, amqps).
DEFAULT_PORTS = (5672, 5671)


class BodyMode(StrEnum):
    """How much of a body a jsonl record carries."""

    none = "none"
    preview = "preview"
    full = "full"


class WireFormat(StrEnum):
    human = "human"
    jsonl = "jsonl"

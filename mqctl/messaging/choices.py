"""Constants that the publish/rpc option definitions need, in a module that imports no pika.

The command tree is built at every start and every completion TAB; the messaging modules that
carry these values import pika, so the commands take them from here.
"""

from __future__ import annotations

from mqctl.jsonvalues import INT_TYPES

# The explicit header forms, KEY:TYPE=VALUE.
HEADER_TYPES = (
    "string",
    "json",
    "bool",
    "bytes",
    "timestamp",
    "decimal",
    "float",
    "double",
    *INT_TYPES,
    "void",
)

# Publisher confirms outstanding at once, unless --confirm-window says otherwise.
DEFAULT_WINDOW = 1000

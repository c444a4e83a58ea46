"""Shell completion, mqctl's own: the `_MQCTL_COMPLETE` protocol (protocol.py), the line and its
candidates (engine.py), the completers chosen by parameter name (convention.py) and the scripts.

Kept empty so that a TAB loads only what it needs: the completers (and the broker look-ups behind
them) load when a value is being completed, not for option and command names.
"""

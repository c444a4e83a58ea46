"""The property decoding entry point for the compiled (mypyc) build of the codec.

In the pure-Python build, content headers go through the per-flags decoders that
:mod:`mqctl.wire.properties` compiles with ``exec``. When tools/build_mypyc.py has compiled this
module with ``_spec`` and ``values``, the frame properties call this function instead, so the whole
decode runs as native code: the generated property decoder (a flag test per property is cheap
there) rather than exec'd Python. (Method arguments need no go-between: ``frames`` calls the
generated decoders, native code in that build, directly.)
"""

from __future__ import annotations

from typing import Any, Final

from mqctl.wire import _spec
from mqctl.wire.methods import PROPERTIES

__all__ = ["NATIVE", "content_properties"]

#: True when this module runs as mypyc-compiled code
NATIVE = not str(__file__).endswith(".py")

# Final: compiled, these are read from C statics rather than looked up in the module's dict
_PROPERTY_DECODERS: Final = _spec.PROPERTY_DECODERS
# flag bits that need the careful path: a continuation word, or bits past the class's properties
_SLOW_FLAGS: Final = {cid: (1 << (16 - len(props))) - 1 for cid, props in PROPERTIES.items()}


def content_properties(class_id: int, flags: int, payload: bytes) -> dict[str, Any] | None:
    """Set properties of a content header; None when the careful path must handle the flags."""
    slow = _SLOW_FLAGS.get(class_id)
    if slow is None or flags & slow:
        return None
    return _PROPERTY_DECODERS[class_id](payload, 14, flags)

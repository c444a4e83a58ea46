"""The wire: an AMQP 0-9-1 frame codec (sans-IO) and, beside it, capture readers and renderers.

The codec's public API, importable from here:

- :class:`FrameDecoder` (``feed``, ``next_event``, iteration, ``gap``, ``finish``,
  ``frame_names``) and the ``NEED_DATA`` sentinel -- :mod:`mqctl.wire.decoder`
- frames and problems: :class:`MethodFrame`, :class:`HeaderFrame`, :class:`BodyFrame`,
  :class:`HeartbeatFrame`, :class:`ProtocolHeader`, :class:`DecodeProblem`, :class:`FrameError`
  -- :mod:`mqctl.wire.frames`
- encoding: ``encode_method``, ``encode_header``, ``encode_body``, ``encode_heartbeat``,
  ``encode_message``, ``PROTOCOL_HEADER`` -- :mod:`mqctl.wire.encoder`
- lookups: ``METHODS_BY_ID``, ``METHODS_BY_NAME``, ``method_spec``, ``method_name``,
  ``PROPERTIES`` -- :mod:`mqctl.wire.methods`
- values: ``decode_table``, ``encode_table``, ``CodecError``, ``EncodeError`` --
  :mod:`mqctl.wire.values`; the typed values ``Int8``, ``Float32``, ``StringBytes``, ... --
  :mod:`mqctl.wire.fieldtypes`

The same sources run compiled (scripts/setup builds the hot modules with mypyc) or as pure Python
(no compiler, or ``MQCTL_PURE_PYTHON=1``): see :mod:`mqctl.build`; ``codec_build()`` says which.
"""

import importlib
from typing import TYPE_CHECKING, Any

from mqctl.build import choose_build

choose_build()  # before any module of the compiled set loads: compiled, or their sources

if TYPE_CHECKING:
    from mqctl.wire.decoder import DEFAULT_MAX_FRAME_SIZE, NEED_DATA, FrameDecoder, NeedData
    from mqctl.wire.encoder import (
        PROTOCOL_HEADER,
        encode_body,
        encode_frame,
        encode_header,
        encode_heartbeat,
        encode_message,
        encode_method,
        encode_method_payload,
    )
    from mqctl.wire.frames import (
        BodyFrame,
        CutFrame,
        DecodeProblem,
        Event,
        Frame,
        FrameError,
        HeaderFrame,
        HeartbeatFrame,
        MethodFrame,
        ProtocolHeader,
    )
    from mqctl.wire.methods import (
        CLASS_NAMES,
        METHODS,
        METHODS_BY_ID,
        METHODS_BY_NAME,
        PROPERTIES,
        REPLY_CODES,
        ArgumentSpec,
        MethodSpec,
        PropertySpec,
        method_name,
        method_spec,
    )
    from mqctl.wire.values import CodecError, EncodeError


# The names load on first use (PEP 562): `mqctl.wire.choices`, which the command tree needs at
# every start and completion TAB, must not pull in the generated spec tables and the decoder.
_EXPORTS = {
    "ArgumentSpec": "mqctl.wire.methods",
    "BodyFrame": "mqctl.wire.frames",
    "CutFrame": "mqctl.wire.frames",
    "CLASS_NAMES": "mqctl.wire.methods",
    "CodecError": "mqctl.wire.values",
    "DEFAULT_MAX_FRAME_SIZE": "mqctl.wire.decoder",
    "DecodeProblem": "mqctl.wire.frames",
    "EncodeError": "mqctl.wire.values",
    "Event": "mqctl.wire.frames",
    "Frame": "mqctl.wire.frames",
    "FrameDecoder": "mqctl.wire.decoder",
    "FrameError": "mqctl.wire.frames",
    "HeaderFrame": "mqctl.wire.frames",
    "HeartbeatFrame": "mqctl.wire.frames",
    "METHODS": "mqctl.wire.methods",
    "METHODS_BY_ID": "mqctl.wire.methods",
    "METHODS_BY_NAME": "mqctl.wire.methods",
    "MethodFrame": "mqctl.wire.frames",
    "MethodSpec": "mqctl.wire.methods",
    "NEED_DATA": "mqctl.wire.decoder",
    "NeedData": "mqctl.wire.decoder",
    "PROPERTIES": "mqctl.wire.methods",
    "PROTOCOL_HEADER": "mqctl.wire.encoder",
    "PropertySpec": "mqctl.wire.methods",
    "ProtocolHeader": "mqctl.wire.frames",
    "REPLY_CODES": "mqctl.wire.methods",
    "encode_body": "mqctl.wire.encoder",
    "encode_frame": "mqctl.wire.encoder",
    "encode_header": "mqctl.wire.encoder",
    "encode_heartbeat": "mqctl.wire.encoder",
    "encode_message": "mqctl.wire.encoder",
    "encode_method": "mqctl.wire.encoder",
    "encode_method_payload": "mqctl.wire.encoder",
    "method_name": "mqctl.wire.methods",
    "method_spec": "mqctl.wire.methods",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def codec_build() -> str:
    """``"mypyc"`` when the compiled modules are in use, else ``"pure-python"`` (see mqctl.build)."""
    from mqctl.wire import decoder

    return "mypyc" if not str(decoder.__file__).endswith(".py") else "pure-python"


__all__ = [
    "CLASS_NAMES",
    "DEFAULT_MAX_FRAME_SIZE",
    "METHODS",
    "METHODS_BY_ID",
    "METHODS_BY_NAME",
    "NEED_DATA",
    "PROPERTIES",
    "PROTOCOL_HEADER",
    "REPLY_CODES",
    "ArgumentSpec",
    "BodyFrame",
    "CodecError",
    "CutFrame",
    "DecodeProblem",
    "EncodeError",
    "Event",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "HeaderFrame",
    "HeartbeatFrame",
    "MethodFrame",
    "MethodSpec",
    "NeedData",
    "PropertySpec",
    "ProtocolHeader",
    "codec_build",
    "encode_body",
    "encode_frame",
    "encode_header",
    "encode_heartbeat",
    "encode_message",
    "encode_method",
    "encode_method_payload",
    "method_name",
    "method_spec",
]

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
- values: ``TypedValue``, ``decode_table``, ``encode_table``, ``CodecError``, ``EncodeError``
  -- :mod:`mqctl.wire.values`

Pure Python everywhere; tools/build-mypyc optionally compiles the hot modules (``codec_build()``
says which build is in use).
"""

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
from mqctl.wire.values import CodecError, EncodeError, TypedValue


def codec_build() -> str:
    """``"mypyc"`` when tools/build-mypyc's compiled modules are in use, else ``"pure-python"``."""
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
    "TypedValue",
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

"""The messages the test sends on a WebSocket and reads from it: JSON in and out, text and
bytes out of a received message, and the check of a message before the app gets it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from ._errors import ASGIProtocolError, WebSocketDisconnect
from ._types import Message

__all__ = ["bytes_of", "check_message", "json_message", "json_of", "text_of"]


def json_message(data: Any, mode: Literal["text", "binary"] = "text") -> Message:
    """The ``websocket.receive`` message carrying ``data`` as JSON text or UTF-8 bytes."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if mode == "text":
        return {"type": "websocket.receive", "text": text}
    return {"type": "websocket.receive", "bytes": text.encode("utf-8")}


def text_of(message: Message, where: str) -> str:
    """The text of a message received on ``where``; raises WebSocketDisconnect for a close."""
    data = _data_of(message)
    if not isinstance(data, str):
        raise ASGIProtocolError(f"{where}: expected a text message, got bytes {data!r:.60}")
    return data


def bytes_of(message: Message, where: str) -> bytes:
    """The bytes of a message received on ``where``; raises WebSocketDisconnect for a close."""
    data = _data_of(message)
    if isinstance(data, str):
        raise ASGIProtocolError(f"{where}: expected a bytes message, got text {data!r:.60}")
    return bytes(data)


def json_of(message: Message, mode: Literal["text", "binary"], where: str) -> Any:
    """The decoded JSON of a received text (or, with mode="binary", bytes) message."""
    if mode == "text":
        return json.loads(text_of(message, where))
    return json.loads(bytes_of(message, where).decode("utf-8"))


def _data_of(message: Message) -> str | bytes:
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    return text if text is not None else bytes(message["bytes"])


def check_message(message: Any) -> None:
    """Raise ``TypeError`` unless ``message`` is a message the app's ``receive()`` can be given:
    a dict with a str ``type``, whose ``text`` is a str and ``bytes`` a byte string."""
    if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
        raise TypeError(f"a message to send is a dict with a str 'type', not {message!r:.80}")
    text, data = message.get("text"), message.get("bytes")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"the text of a message is a str, not {type(text).__name__}: use send_bytes() for bytes")
    if data is not None and not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"the bytes of a message are a byte string, not {type(data).__name__}: use send_text()")

"""The messages the test sends on a WebSocket and reads from it: JSON in and out, text and
bytes out of a received message, the check of a message before the app gets it, and the
typed ``send_*``/``receive_*`` methods every session class shares (:class:`SessionMethods`,
:class:`AsyncSessionMethods`), written once on the class's own ``send`` and ``receive``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from ._errors import ASGIProtocolError, UnexpectedMessage, WebSocketDisconnect
from ._types import Message

__all__ = [
    "AsyncSessionMethods",
    "SessionMethods",
    "bytes_of",
    "check_close",
    "check_message",
    "json_message",
    "json_of",
    "text_of",
    "unexpected",
]


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


#: How much of an unexpected message its error shows.
_SHOWN = 300


def unexpected(where: str, message: Message, window: float, events: str) -> UnexpectedMessage:
    """The error of an ``expect_nothing(window)`` that saw ``message`` come; ``events``, the
    connection's transcript (empty where none is kept)."""
    came = "closed the connection" if message["type"] == "websocket.close" else "sent a message"
    shown = repr(dict(message))
    if len(shown) > _SHOWN:
        shown = f"{shown[:_SHOWN]}... ({len(shown)} chars)"
    text = (
        f"{where}: expected nothing from the app for {window}s, but it {came}: {shown} "
        "(it stays queued: the next receive*() returns it)"
    )
    return UnexpectedMessage(f"{text}\n{events}" if events else text, dict(message))


def check_close(code: Any, reason: Any) -> None:
    """Raise ``TypeError`` unless ``code`` and ``reason`` are a close's: an int and a str or None."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"a close code is an int, not {code!r}")
    if reason is not None and not isinstance(reason, str):
        raise TypeError(f"a close reason is a str or None, not {reason!r}")


class SessionMethods:
    """The typed methods of a blocking session, on its ``send``, ``receive`` and ``where``."""

    @property
    def where(self) -> str:
        """The session, as messages name it."""
        raise NotImplementedError

    def send(self, message: Message) -> None:
        raise NotImplementedError

    def receive(self, timeout: float | None = None) -> Message:
        raise NotImplementedError

    def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        self.send(json_message(data, mode))

    def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return text_of(self.receive(timeout), self.where)

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return bytes_of(self.receive(timeout), self.where)

    def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return json_of(self.receive(timeout), mode, self.where)


class AsyncSessionMethods:
    """:class:`SessionMethods` for a session whose ``send`` and ``receive`` are awaited."""

    @property
    def where(self) -> str:
        """The session, as messages name it."""
        raise NotImplementedError

    async def send(self, message: Message) -> None:
        raise NotImplementedError

    async def receive(self, timeout: float | None = None) -> Message:
        raise NotImplementedError

    async def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (``mode="text"``) or a binary one."""
        await self.send(json_message(data, mode))

    async def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message; raises WebSocketDisconnect if the app closed instead."""
        return text_of(await self.receive(timeout), self.where)

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message; raises WebSocketDisconnect if the app closed instead."""
        return bytes_of(await self.receive(timeout), self.where)

    async def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        """The next message decoded as JSON (from a text message, or a binary one with ``mode="binary"``)."""
        return json_of(await self.receive(timeout), mode, self.where)

"""What happened on one connection, for error messages.

A :class:`Transcript` keeps the last :data:`KEEP` ASGI events of a connection:
the messages the app received and sent, and what the client did (closed,
timed out), each with a timestamp from its ``clock`` (the monotonic clock, or a client's
virtual one). Recording is cheap (a tuple
appended to a bounded deque; large payloads are cut first, so a transcript
never holds a big body alive); rendering happens only when an error needs it.
The values of credential headers are never shown.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["KEEP", "SENSITIVE_HEADERS", "SilentTranscript", "Transcript"]

#: Events kept per connection.
KEEP = 32
#: Events an error message shows.
SHOWN = 10
#: Headers whose values a transcript replaces with ``<redacted>``.
SENSITIVE_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie"})

_PAYLOAD_KEYS = ("body", "bytes", "text")
_PREVIEW = 24
_PLAIN = (bytes, str)


class Transcript:
    """The recent ASGI events of one connection."""

    __slots__ = ("_events", "_origin", "clock", "where")

    def __init__(self, where: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where
        #: The connection's clock: its events' times, and how long ago a close was.
        self.clock = clock
        self._origin = clock()
        self._events: deque[tuple[float, str, Any]] = deque(maxlen=KEEP)

    def __len__(self) -> int:
        return len(self._events)

    def app_received(self, message: Mapping[str, Any]) -> None:
        self._events.append((self.clock(), "app <-", _kept(message)))

    def app_sent(self, message: Any) -> None:
        kept = _kept(message) if type(message) is dict or isinstance(message, Mapping) else message
        self._events.append((self.clock(), "app ->", kept))

    def opened(self, scope: Mapping[str, Any]) -> None:
        """Record the connection's scope, in short (rendered only if an error shows it)."""
        self._events.append((self.clock(), "  --", _Opened(scope)))

    def note(self, text: str) -> None:
        """Record something the client did or saw that is not an ASGI message."""
        self._events.append((self.clock(), "  --", text))

    def render(self, last: int = SHOWN) -> str:
        """The last ``last`` events, one per line, for the end of an error message."""
        events = list(self._events)[-last:]
        if not events:
            return ""
        skipped = len(self._events) - len(events)
        lines = [f"last ASGI events of {self.where}" + (f" ({skipped} earlier not shown)" if skipped else "") + ":"]
        for stamp, direction, event in events:
            shown = event if isinstance(event, str | _Opened) else describe(event)
            lines.append(f"  +{stamp - self._origin:.3f}s {direction} {shown}")
        return "\n".join(lines)


class SilentTranscript(Transcript):
    """A transcript that records nothing: for a client made with ``transcripts=False``,
    whose error messages then end without the connection's last events."""

    __slots__ = ()

    def app_received(self, message: Mapping[str, Any]) -> None:
        pass

    def app_sent(self, message: Any) -> None:
        pass

    def opened(self, scope: Mapping[str, Any]) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class _Opened:
    """What a connection was opened with, kept as it was and rendered on demand."""

    __slots__ = ("headers", "method", "path", "query", "type")

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.type = scope.get("type")
        self.method = scope.get("method", "")
        self.path = scope.get("path", "")
        self.query = scope.get("query_string", b"")
        self.headers = list(scope.get("headers", ()))

    def __str__(self) -> str:
        target = self.path + ("?" + bytes(self.query).decode("latin-1") if self.query else "")
        opened = f"{self.type} {self.method} {target}".replace("  ", " ")
        return f"opened {opened} headers=[{_headers(self.headers)}]"


def _kept(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """``message``, or a copy of it whose large payloads are cut (so nothing big stays alive)."""
    for key in _PAYLOAD_KEYS:
        value = message.get(key)
        if value is None or (type(value) in _PLAIN and len(value) <= _PREVIEW):
            continue
        if not isinstance(value, _Cut) and _size(value) > _PREVIEW:
            return {k: (_Cut(v) if k in _PAYLOAD_KEYS and v is not None else v) for k, v in message.items()}
    return message


def _size(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


class _Cut:
    """The start and the length of a payload too large to keep whole."""

    __slots__ = ("head", "size")

    def __init__(self, value: Any) -> None:
        self.size = _size(value)
        self.head = value[:_PREVIEW] if isinstance(value, str | bytes | bytearray) else value

    def __repr__(self) -> str:
        return f"{self.head!r}... ({self.size} {'chars' if isinstance(self.head, str) else 'bytes'})"


def describe(message: Any) -> str:
    """One message in one line: its type, then its other keys, credentials redacted."""
    if not isinstance(message, Mapping):
        return f"{type(message).__name__} {message!r:.60}"
    parts = [str(message.get("type", "<no type>"))]
    for key, value in message.items():
        if key == "type":
            continue
        if key == "headers":
            parts.append(f"headers=[{_headers(value)}]")
        elif isinstance(value, str | bytes | bytearray) and len(value) > _PREVIEW:
            parts.append(f"{key}={_Cut(value)!r}")
        else:
            parts.append(f"{key}={value!r:.60}")
    return " ".join(parts)


def _headers(headers: Any) -> str:
    if not isinstance(headers, Iterable) or isinstance(headers, str | bytes):
        return repr(headers)
    shown = []
    for pair in headers:
        try:
            name, value = pair
        except (TypeError, ValueError):
            shown.append(repr(pair))
            continue
        key = name.lower() if isinstance(name, bytes) else str(name).lower().encode()
        text_name = name.decode("latin-1") if isinstance(name, bytes) else repr(name)
        if key in SENSITIVE_HEADERS:
            shown.append(f"{text_name}: <redacted>")
        else:
            text_value = value.decode("latin-1") if isinstance(value, bytes) else repr(value)
            shown.append(f"{text_name}: {text_value:.40}")
    return ", ".join(shown)

"""Checks of single message fields, shared by the state machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import ASGIProtocolError

__all__ = ["check_headers", "message_type", "reject"]


def reject(where: str, rule: str, message: Mapping[str, Any], state: str) -> ASGIProtocolError:
    """Build the error for a broken rule, naming the connection, the rule, the message and the state."""
    shown = {key: value for key, value in message.items() if key not in {"body", "bytes", "text"}}
    return ASGIProtocolError(f"{where}: {rule} (app sent {shown!r} in state {state})")


def message_type(where: str, message: Any, state: str) -> str:
    """Return the message's ``type``, or raise if the message is not a dict with a string type."""
    if not isinstance(message, Mapping):
        raise ASGIProtocolError(
            f"{where}: the app sent {type(message).__name__} {message!r}; "
            f"an ASGI message is a dict with a 'type' key (state {state})"
        )
    kind = message.get("type")
    if not isinstance(kind, str):
        raise reject(where, "every ASGI message needs a string 'type'", message, state)
    return kind


def check_headers(where: str, message: Mapping[str, Any], state: str) -> None:
    """Headers, when present, are an iterable of [name, value] byte-string pairs."""
    headers = message.get("headers", ())
    try:
        pairs = list(headers)
    except TypeError:
        raise reject(where, "'headers' must be an iterable of [name, value] pairs", message, state) from None
    for pair in pairs:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not isinstance(pair[0], bytes)
            or not isinstance(pair[1], bytes)
        ):
            raise reject(where, f"each header must be a [name, value] pair of bytes, got {pair!r}", message, state)

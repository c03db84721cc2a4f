"""What every state machine shares: raising a broken rule, and the checks of headers."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from ._errors import ASGIProtocolError
from ._rules import RELAXED, RULES
from ._transcript import Transcript

__all__ = ["Checker"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_VALUE = re.compile(rb"[\r\n\0]")

#: Where a connection is, for messages: a state enum (described by its value) or a text.
State = enum.Enum | str

_Move = TypeVar("_Move")

#: The values of extension messages that may be of any type: the debug ``info``
#: ("Dict[Unicode string, Any]"), and the file object of a zero-copy send.
_FREE_VALUES = frozenset({("info", "http.response.debug"), ("file", "http.response.zerocopysend")})

#: Header names already seen to be tokens (a few dozen in any suite).
_token_names: set[bytes] = set()


class Checker:
    """The base of the state machines: where the connection is, how strict, what happened on it."""

    __slots__ = ("strict", "transcript", "where")

    state: Any  # the subclass's state enum

    def __init__(self, where: str, *, strict: bool = True, transcript: Transcript | None = None) -> None:
        self.where = where
        self.strict = strict
        self.transcript = transcript if transcript is not None else Transcript(where)

    def broken(self, rule: str, message: Any, state: State, detail: str = "") -> None:
        """Raise :class:`ASGIProtocolError` for ``rule``, unless this checker is relaxed and the rule is too."""
        if not self.strict and rule in RELAXED:
            return
        raise self.error(rule, message, state, detail)

    def error(self, rule: str, message: Any, state: State, detail: str = "") -> ASGIProtocolError:
        """The error for ``rule``, naming the connection, the rule, the message and the state."""
        from ._transcript import describe

        if isinstance(state, enum.Enum):
            state = state.value

        act = f"The app sent {describe(message)}" if message is not None else "The app returned"
        text = f"{self.where}: ASGI rule [{rule}] broken: {RULES[rule]}{detail and ' ' + detail} {act} while {state}."
        events = self.transcript.render()
        return ASGIProtocolError(f"{text}\n{events}" if events else text, rule=rule)

    def lookup(self, message: Any, moves: Mapping[tuple[Any, str], _Move]) -> tuple[Any, str, _Move | None]:
        """Record that the app sent ``message``; return the state it came in, its type, and its
        move in ``moves`` (None: it is refused here). Raise if it is no message at all."""
        self.transcript.app_sent(message)
        state = self.state
        kind = self._message_type(message, state)
        return state, kind, moves.get((state, kind))

    def _message_type(self, message: Any, state: State) -> str:
        """The message's ``type``, or raise: a message is a dict with a str type."""
        if type(message) is not dict and not isinstance(message, Mapping):
            raise self.error("message-dict", message, state, f"It is a {type(message).__name__}.")
        kind = message.get("type")
        if type(kind) is not str and not isinstance(kind, str):
            raise self.error("message-type", message, state)
        if self.strict:  # a relaxed rule: no walk at all otherwise
            for key, value in message.items():
                if key == "headers" or (key, kind) in _FREE_VALUES:
                    continue  # any iterable (checked as headers), and what an extension lets through
                problem = _unserializable(value, 0) if type(key) is str else f"the key {key!r:.40} is not a str"
                if problem is not None:
                    raise self.error("message-value-types", message, state, f"In {key!r:.40}: {problem}.")
        return kind

    def status_of(self, message: Mapping[str, Any], state: State, rule: str) -> int:
        """The response's ``status``; raise ``rule`` unless it is an int."""
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise self.error(rule, message, state)
        return status

    def check_headers(self, message: Mapping[str, Any], state: State) -> None:
        """Headers, when present, are an iterable of [name, value] byte-string pairs, safe to write."""
        headers = message.get("headers", ())
        if type(headers) is not list:
            try:
                headers = list(headers)
            except TypeError:
                raise self.error("headers-iterable", message, state) from None
            if isinstance(message.get("headers"), str | bytes):
                raise self.error("headers-iterable", message, state)
        for pair in headers:
            kind = type(pair)
            if ((kind is not tuple and kind is not list) or len(pair) != 2) and (
                isinstance(pair, str | bytes) or not _is_pair(pair)
            ):
                raise self.error("header-pair", message, state, f"Got {pair!r:.60}.")
            name, value = pair
            if (type(name) is not bytes or type(value) is not bytes) and (
                not isinstance(name, bytes | bytearray) or not isinstance(value, bytes | bytearray)
            ):
                raise self.error("header-bytes", message, state, f"Got {pair!r:.60}.")
            if type(name) is not bytes or name not in _token_names:
                if _TOKEN.fullmatch(name) is None:
                    self.broken("header-name-token", message, state, f"Got {bytes(name)!r:.60}.")
                elif len(_token_names) < 4096:
                    _token_names.add(bytes(name))
            if _UNSAFE_VALUE.search(value) is not None:
                self.broken("header-value-safe", message, state, f"Got {bytes(name)!r:.40}: {bytes(value)!r:.40}.")


#: How deep :func:`_unserializable` looks into nested lists and dicts.
_MAX_DEPTH = 32


def _unserializable(value: Any, depth: int) -> str | None:
    """What in ``value`` is not of the types a message may hold, or None."""
    kind = type(value)
    if kind is bytes or kind is str or kind is bool or value is None:
        return None
    if isinstance(value, int):
        return None if -(2**63) <= value < 2**63 else f"{value} is outside the signed 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, str | bytes | bytearray | memoryview):
        return None
    if depth >= _MAX_DEPTH:
        return f"values are nested deeper than {_MAX_DEPTH} levels"
    if isinstance(value, list | tuple):
        for item in value:
            problem = _unserializable(item, depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"the key {key!r:.40} is not a str"
            problem = _unserializable(item, depth + 1)
            if problem is not None:
                return problem
        return None
    return f"a {type(value).__name__} is not a type a message may hold"


def _is_pair(pair: Any) -> bool:
    try:
        return len(pair) == 2
    except TypeError:
        return False

"""Every rule asgitest holds an app to, as one table.

The ASGI specification (HTTP, WebSocket and lifespan scopes, version 2.4) says
what an app may send and when; :data:`TABLE` below says it again in our words,
one row per rule, with the id that every :class:`~asgitest.ASGIProtocolError`
names. The state machines next to this module enforce the rows; a row marked
``relaxed`` is not enforced by a client made with ``strict=False``, because
Starlette's ``TestClient`` tolerates it (a production server still rejects or
mangles it).

In short: an HTTP app answers with one ``http.response.start`` (an int status,
byte-string headers), then body messages until one has ``more_body`` false, then
trailers if it announced them, then nothing. A WebSocket app accepts once (or
closes, or denies with an HTTP response), sends text or bytes, closes, then
sends nothing. A lifespan app answers each startup and shutdown once.

Not checked on purpose: header names in upper case. The spec asks for lower
case, but servers accept any case and frameworks (Django among them) send it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["RELAXED", "RULES", "TABLE", "Rule"]


class Rule(NamedTuple):
    """One rule: its id, what it asks, and whether ``strict=False`` lets it pass."""

    id: str
    text: str
    relaxed: bool = False


TABLE: tuple[Rule, ...] = (
    Rule("message-dict", "A message is a dict."),
    Rule("message-type", "A message has a 'type', a str."),
    Rule(
        "http-unknown-type",
        "The app sends only 'http.response.start', 'http.response.body', 'http.response.trailers' "
        "(and Starlette's 'http.response.debug'), and the messages of the extensions offered.",
    ),
    Rule(
        "http-push-offered",
        "'http.response.push' only where the server offered the extension (without strict, it is dropped, "
        "as Starlette's client drops it).",
        relaxed=True,
    ),
    Rule("http-start-first", "'http.response.start' comes before any body."),
    Rule("http-debug-info-dict", "The 'info' of Starlette's 'http.response.debug' is a dict."),
    Rule("http-start-once", "There is exactly one 'http.response.start'."),
    Rule("http-status-int", "'status' is an int."),
    Rule("http-status-range", "'status' is a final HTTP status, 200 to 599.", relaxed=True),
    Rule("http-body-bytes", "'body' is a byte string."),
    Rule("http-more-body-bool", "'more_body' is a bool.", relaxed=True),
    Rule("http-trailers-bool", "'trailers' is a bool.", relaxed=True),
    Rule("http-no-body-status", "A 204 or 304 response has no body.", relaxed=True),
    Rule(
        "http-content-length",
        "A declared 'content-length' is the body's length: no more is sent, and the body does not end short of it.",
        relaxed=True,
    ),
    Rule("http-trailers-announced", "'http.response.trailers' only after a start with 'trailers: true'."),
    Rule("http-trailers-after-body", "Trailers come once the body is complete."),
    Rule(
        "http-after-complete",
        "Only announced trailers follow the end of the body, and nothing follows the end of the response.",
    ),
    Rule("http-response-started", "The app does not return before 'http.response.start'."),
    Rule(
        "http-response-complete",
        "The app does not return while the body is incomplete (a server would cut the connection).",
        relaxed=True,
    ),
    Rule("headers-iterable", "'headers' is an iterable of [name, value] pairs."),
    Rule("header-pair", "Each header is a sequence of exactly two items."),
    Rule("header-bytes", "Name and value are byte strings (a str crashes a server)."),
    Rule(
        "header-name-token", "A name is a non-empty HTTP token: no spaces, colons or control characters.", relaxed=True
    ),
    Rule("header-value-safe", "A value has no CR, LF or NUL (they would split the header).", relaxed=True),
    Rule(
        "ws-unknown-type",
        "The app sends only 'websocket.accept', 'websocket.send', 'websocket.close', "
        "'websocket.http.response.start' and 'websocket.http.response.body'.",
    ),
    Rule("ws-accept-once", "The app accepts once."),
    Rule("ws-send-after-accept", "'websocket.send' only once the connection is accepted."),
    Rule("ws-after-close", "Nothing is sent once the app closed the connection (or its denial response is complete)."),
    Rule("ws-send-one-payload", "A send carries exactly one of 'text' and 'bytes'."),
    Rule("ws-text-str", "'text' is a str."),
    Rule("ws-bytes-bytes", "'bytes' is a byte string."),
    Rule("ws-subprotocol-str", "The accepted 'subprotocol' is a str or None."),
    Rule(
        "ws-subprotocol-offered",
        "The accepted subprotocol is one the client offered (a browser fails the handshake otherwise).",
        relaxed=True,
    ),
    Rule("ws-close-code-int", "A close 'code' is an int."),
    Rule(
        "ws-close-code-range",
        "A close code is one an endpoint may send: 1000-1003, 1007-1014 or 3000-4999 (RFC 6455).",
        relaxed=True,
    ),
    Rule("ws-close-reason-str", "A close 'reason' is a str or None.", relaxed=True),
    Rule("ws-close-reason-length", "A close reason is at most 123 bytes in UTF-8 (RFC 6455).", relaxed=True),
    Rule(
        "ws-denial-in-handshake",
        "A denial response ('websocket.http.response.start') is only sent instead of accepting.",
    ),
    Rule("ws-denial-start-first", "The denial body comes after the denial start."),
    Rule("ws-denial-status-int", "The denial 'status' is an int."),
    Rule("ws-denial-body-bytes", "The denial 'body' is a byte string."),
    Rule("lifespan-unknown-type", "The app sends only the four 'lifespan.*.complete' / 'lifespan.*.failed' answers."),
    Rule(
        "lifespan-answer-startup",
        "While startup runs, the answer is 'lifespan.startup.complete' or 'lifespan.startup.failed'.",
    ),
    Rule(
        "lifespan-answer-shutdown",
        "While shutdown runs, the answer is 'lifespan.shutdown.complete' or 'lifespan.shutdown.failed'.",
    ),
    Rule("lifespan-unasked", "The app answers only what the server asked, once."),
    Rule("lifespan-unanswered", "Once it has received startup or shutdown, the app answers before it returns."),
    Rule("lifespan-message-str", "The 'message' of a failure is a str."),
)

#: Each rule's text by id.
RULES: dict[str, str] = {rule.id: rule.text for rule in TABLE}
#: The ids a client made with ``strict=False`` does not enforce.
RELAXED: frozenset[str] = frozenset(rule.id for rule in TABLE if rule.relaxed)

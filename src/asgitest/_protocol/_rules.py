"""Every rule asgitest holds an app to, as one table.

The ASGI specification (the core, HTTP and WebSocket ``www`` 2.5, lifespan 2.0, and
the extensions asgitest offers: trailers, debug, WebSocket denial response, early
hints, path send, zero copy send, server push) says
what an app may send and when; :data:`TABLE` below says it again in our words, one
row per rule, with the id that every :class:`~asgitest.ASGIProtocolError` names,
and the sentence of the specification it stands for (or, for a rule the ASGI
text leaves to HTTP or WebSocket, the RFC section). The state machines next to
this module enforce the rows; a row marked ``relaxed`` is not enforced by a
client made with ``strict=False``, because Starlette's ``TestClient`` tolerates
it (a production server still rejects or mangles it).

In short: an HTTP app answers with one ``http.response.start`` (an int status,
byte-string headers), then body messages until one has ``more_body`` false, then
trailers if it announced them, then nothing. A WebSocket app accepts once (or
closes, or denies with an HTTP response), sends text or bytes, closes, then
sends nothing. A lifespan app answers each startup and shutdown once.

Not checked on purpose: header names in upper case. The spec says they "must be
lowercased", but every server lowercases them (uvicorn, hypercorn, daphne; h2
normalises outbound names) and frameworks (Django among them) send any case.
A send after the connection closed is not a rule either: the server raises an
``OSError`` in the app (www 2.4), and so does the client.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["RELAXED", "RULES", "TABLE", "Rule"]


class Rule(NamedTuple):
    """One rule: its id, what it asks, whether ``strict=False`` lets it pass, and its source:
    where the specification says it (``spec``, the sentence quoted) or, beyond the ASGI
    text, which RFC does (``source`` alone)."""

    id: str
    text: str
    relaxed: bool = False
    source: str = ""
    spec: str = ""


_CORE = "ASGI, Events"
_START = "www, Response Start"
_BODY = "www, Response Body"
_HEADERS = (
    "`headers` (Iterable[[byte string, byte string]]) -- An iterable of `[name, value]` two-item "
    "iterables, where `name` is the header name, and `value` is the header value."
)
_EXTENSIONS = (
    "If an application sees this it then knows it can send the custom event (say, of type "
    "`http.fullflush`) via the `send` callable."
)
_DENIAL = "extensions, WebSocket Denial Response"
_EARLY_HINTS = "extensions, Early Hints"
_PATH_SEND = "extensions, Path Send"
_ZERO_COPY = "extensions, Zero Copy Send"
_DENIAL_STRUCTURE = (
    "The messages themselves should be `websocket.http.response.start` and `websocket.http.response.body` "
    "with a structure that matches the `http.response.start` and `http.response.body` messages defined "
    "in the HTTP part of the core ASGI specification."
)

TABLE: tuple[Rule, ...] = (
    Rule(
        "message-dict",
        "A message is a dict.",
        source=_CORE,
        spec="Each event is a `dict` with a top-level `type` key that contains a Unicode string of the message type.",
    ),
    Rule(
        "message-type",
        "A message has a 'type', a str.",
        source=_CORE,
        spec="Each event is a `dict` with a top-level `type` key that contains a Unicode string of the message type.",
    ),
    Rule(
        "message-value-types",
        "A message holds only byte strings, str, int (signed 64-bit), finite floats, lists, dicts with str "
        "keys, bools and None, nested as deep as need be (tuples pass for lists, bytearray and memoryview for "
        "byte strings, as servers take them; the 'info' of a debug message may hold anything, and the 'file' of "
        "a zero-copy send is a file).",
        relaxed=True,
        source=_CORE,
        spec="Because these messages could be sent over a network, they need to be serializable, and so they "
        "are only allowed to contain the following types:",
    ),
    Rule(
        "http-unknown-type",
        "The app sends only 'http.response.start', 'http.response.body', 'http.response.trailers' "
        "(and Starlette's 'http.response.debug'), and the messages of the extensions offered.",
        source="ASGI, Extensions",
        spec=_EXTENSIONS,
    ),
    Rule(
        "http-push-offered",
        "'http.response.push' only where the server offered the extension (without strict, it is dropped, "
        "as Starlette's client drops it).",
        relaxed=True,
        source="ASGI, Extensions",
        spec=_EXTENSIONS,
    ),
    Rule(
        "http-extension-offered",
        "An extension's message only where the scope offered the extension (the client's 'extensions').",
        source="ASGI, Extensions",
        spec=_EXTENSIONS,
    ),
    Rule(
        "http-early-hint-before-start",
        "'http.response.early_hint' comes before 'http.response.start': a 103 precedes the final response "
        "(the extension's text says 'after', which no server does).",
        source="RFC 8297, section 2",
    ),
    Rule(
        "http-early-hint-links",
        "The 'links' of an early hint are an iterable of byte strings.",
        source=_EARLY_HINTS,
        spec="`links` (Iterable[byte string]): An iterable of link header field values, see RFC 8288.",
    ),
    Rule(
        "http-pathsend-path",
        "The 'path' of 'http.response.pathsend' is a str: the absolute path of an existing file.",
        source=_PATH_SEND,
        spec="`path` (Unicode string): The string representation of the absolute file path to be sent by the "
        "server, platform specific.",
    ),
    Rule(
        "http-pathsend-alone",
        "'http.response.pathsend' comes once, after the start, and no body message with it.",
        source=_PATH_SEND,
        spec="This message can be sent at any time after the Response Start message, and cannot be mixed with "
        "`http.response.body`. It can be called just one time in one response.",
    ),
    Rule(
        "http-zerocopysend-file",
        "The 'file' of 'http.response.zerocopysend' is an open file with an OS file descriptor.",
        source=_ZERO_COPY,
        spec="`file` (file descriptor object): An opened file descriptor object with an underlying OS file "
        "descriptor that can be used to call `os.sendfile`. (e.g. not BytesIO)",
    ),
    Rule(
        "http-zerocopysend-range",
        "The 'offset' and 'count' of 'http.response.zerocopysend', when given, are ints, 0 or more.",
        source=_ZERO_COPY,
        spec="`offset` (int): Optional. If this value exists, it will specify the offset at which sendfile "
        "starts to read data from `file`.",
    ),
    Rule(
        "http-push-path",
        "The 'path' of 'http.response.push' is a str.",
        source="extensions, HTTP/2 Server Push",
        spec="`path` (Unicode string): HTTP path from URL, with percent-encoded sequences and UTF-8 byte "
        "sequences decoded into characters.",
    ),
    Rule(
        "http-start-first",
        "'http.response.start' comes before any body.",
        source=_START,
        spec="Sent by the application to start sending a response to the client.",
    ),
    Rule(
        "http-debug-info-dict",
        "The 'info' of Starlette's 'http.response.debug' is a dict, and is given.",
        source="extensions, Debug",
        spec="`info` (Dict[Unicode string, Any]): A dictionary containing the debug information.",
    ),
    Rule(
        "http-debug-before-start",
        "'http.response.debug' is sent once, before 'http.response.start'.",
        relaxed=True,
        source="extensions, Debug",
        spec="This message must be sent once, before the Response Start message.",
    ),
    Rule(
        "http-start-once",
        "There is exactly one 'http.response.start'.",
        source=_START,
        spec="Sent by the application to start sending a response to the client.",
    ),
    Rule("http-status-int", "'status' is an int.", source=_START, spec="`status` (int) -- HTTP status code."),
    Rule(
        "http-status-range",
        "'status' is a final HTTP status, 200 to 599.",
        relaxed=True,
        source="RFC 9110, section 15 (1xx responses are interim, not a response's status)",
    ),
    Rule(
        "http-body-bytes", "'body' is a byte string.", source=_BODY, spec="`body` (byte string) -- HTTP body content."
    ),
    Rule(
        "http-more-body-bool",
        "'more_body' is a bool.",
        relaxed=True,
        source=_BODY,
        spec="`more_body` (bool) -- Signifies if there is additional content to come (as part of a Response "
        "Body message).",
    ),
    Rule(
        "http-trailers-bool",
        "'trailers' is a bool.",
        relaxed=True,
        source=_START,
        spec="`trailers` (bool) -- Signifies if the application will send trailers.",
    ),
    Rule(
        "http-no-body-status",
        "A 204 or 304 response has no body.",
        relaxed=True,
        source="RFC 9110, sections 15.3.5 and 15.4.5",
    ),
    Rule(
        "http-content-length",
        "A declared 'content-length' is the body's length: no more is sent, and the body does not end short of it.",
        relaxed=True,
        source="RFC 9110, section 8.6",
    ),
    Rule(
        "http-trailers-announced",
        "'http.response.trailers' only after a start with 'trailers: true'.",
        source="extensions, HTTP Trailers",
        spec="An ASGI framework interested in sending trailing headers to the client, must set the field "
        "`trailers` in Response Start as `True`.",
    ),
    Rule(
        "http-trailers-after-body",
        "Trailers come once the body is complete.",
        source="extensions, HTTP Trailers",
        spec="That will allow the ASGI server to know that after the last `http.response.body` message "
        "(`more_body` being `False`), the ASGI framework will send a `http.response.trailers` message.",
    ),
    Rule(
        "http-more-trailers-bool",
        "'more_trailers' is a bool.",
        relaxed=True,
        source="extensions, HTTP Trailers",
        spec="`more_trailers` (bool): Signifies if there is additional content to come (as part of a HTTP "
        "Trailers message).",
    ),
    Rule(
        "http-after-complete",
        "Only announced trailers follow the end of the body, and nothing follows the end of the response.",
        source=_BODY,
        spec="If `more_body` is set to `False`, and the server is not expecting Response Trailers this will "
        "complete the response.",
    ),
    Rule(
        "http-response-started",
        "The app does not return before 'http.response.start'.",
        source=_START,
        spec="Sent by the application to start sending a response to the client.",
    ),
    Rule(
        "http-response-complete",
        "The app does not return while the body is incomplete (a server would cut the connection).",
        relaxed=True,
        source=_START,
        spec="Needs to be followed by at least one response content message.",
    ),
    Rule("headers-iterable", "'headers' is an iterable of [name, value] pairs.", source=_START, spec=_HEADERS),
    Rule("header-pair", "Each header is a sequence of exactly two items.", source=_START, spec=_HEADERS),
    Rule(
        "header-bytes",
        "Name and value are byte strings (a str crashes a server).",
        source="ASGI, Strings and Unicode",
        spec="In this document, and all sub-specifications, byte string refers to the `bytes` type in Python 3.",
    ),
    Rule(
        "header-name-token",
        "A name is a non-empty HTTP token: no spaces, colons (so no pseudo-header) or control characters.",
        relaxed=True,
        source=f"{_START}; RFC 9110, section 5.1",
        spec="Pseudo headers (present in HTTP/2 and HTTP/3) must not be present.",
    ),
    Rule(
        "header-value-safe",
        "A value has no CR, LF or NUL (they would split the header).",
        relaxed=True,
        source="RFC 9110, section 5.5",
    ),
    Rule(
        "ws-unknown-type",
        "The app sends only 'websocket.accept', 'websocket.send', 'websocket.close', "
        "'websocket.http.response.start' and 'websocket.http.response.body'.",
        source="ASGI, Extensions",
        spec=_EXTENSIONS,
    ),
    Rule(
        "ws-accept-once",
        "The app accepts once.",
        source="www, Accept",
        spec="Sent by the application when it wishes to accept an incoming connection.",
    ),
    Rule(
        "ws-send-after-accept",
        "'websocket.send' only once the connection is accepted.",
        source="www, Connect",
        spec="This message must be responded to with either an Accept message or a Close message before the "
        "socket will pass `websocket.receive` messages.",
    ),
    Rule(
        "ws-after-close",
        "Nothing is sent once the app closed the connection (or its denial response is complete).",
        source="www, Close; RFC 6455, section 5.5.1",
        spec="Sent by the application to tell the server to close the connection.",
    ),
    Rule(
        "ws-send-one-payload",
        "A send carries exactly one of 'text' and 'bytes'.",
        source="www, Send",
        spec="Exactly one of `bytes` or `text` must be non-`None`.",
    ),
    Rule(
        "ws-text-str",
        "'text' is a str.",
        source="www, Send",
        spec="`text` (Unicode string) -- Text message content, or `None`.",
    ),
    Rule(
        "ws-bytes-bytes",
        "'bytes' is a byte string.",
        source="www, Send",
        spec="`bytes` (byte string) -- Binary message content, or `None`.",
    ),
    Rule(
        "ws-subprotocol-str",
        "The accepted 'subprotocol' is a str or None.",
        source="www, Accept",
        spec="`subprotocol` (Unicode string) -- The subprotocol the server wishes to accept.",
    ),
    Rule(
        "ws-subprotocol-offered",
        "The accepted subprotocol is one the client offered (a browser fails the handshake otherwise).",
        relaxed=True,
        source="RFC 6455, section 4.1",
    ),
    Rule(
        "ws-accept-protocol-header",
        "The accept's headers have no 'sec-websocket-protocol': the 'subprotocol' key says it.",
        relaxed=True,
        source="www, Accept",
        spec="Must not include a header named `sec-websocket-protocol`; use the `subprotocol` key instead.",
    ),
    Rule(
        "ws-close-code-int",
        "A close 'code' is an int.",
        source="www, Close",
        spec="`code` (int) -- The WebSocket close code, as per the WebSocket spec.",
    ),
    Rule(
        "ws-close-code-range",
        "A close code is one an endpoint may send: 1000-1003, 1007-1014 or 3000-4999 (RFC 6455).",
        relaxed=True,
        source="www, Close; RFC 6455, section 7.4",
        spec="`code` (int) -- The WebSocket close code, as per the WebSocket spec.",
    ),
    Rule(
        "ws-close-reason-str",
        "A close 'reason' is a str or None.",
        relaxed=True,
        source="www, Close",
        spec="`reason` (Unicode string) -- A reason given for the closure, can be any string.",
    ),
    Rule(
        "ws-close-reason-length",
        "A close reason is at most 123 bytes in UTF-8 (RFC 6455).",
        relaxed=True,
        source="RFC 6455, section 5.5",
    ),
    Rule(
        "ws-denial-offered",
        "A denial response only where the scope offered 'websocket.http.response' (the client's 'extensions').",
        source=_DENIAL,
        spec="ASGI Servers that implement this extension will provide `websocket.http.response` in the "
        "extensions part of the scope",
    ),
    Rule(
        "ws-denial-in-handshake",
        "A denial response ('websocket.http.response.start') is only sent instead of accepting.",
        source=_DENIAL,
        spec="This will allow the ASGI Framework to send HTTP response messages after the `websocket.connect` message.",
    ),
    Rule(
        "ws-denial-start-first",
        "The denial body comes after the denial start.",
        source=_DENIAL,
        spec=_DENIAL_STRUCTURE,
    ),
    Rule("ws-denial-status-int", "The denial 'status' is an int.", source=_DENIAL, spec=_DENIAL_STRUCTURE),
    Rule("ws-denial-body-bytes", "The denial 'body' is a byte string.", source=_DENIAL, spec=_DENIAL_STRUCTURE),
    Rule(
        "ws-denial-more-body-bool",
        "The denial body's 'more_body' is a bool.",
        relaxed=True,
        source=_DENIAL,
        spec=_DENIAL_STRUCTURE,
    ),
    Rule(
        "lifespan-unknown-type",
        "The app sends only the four 'lifespan.*.complete' / 'lifespan.*.failed' answers.",
        source="lifespan (its send events are these four)",
    ),
    Rule(
        "lifespan-answer-startup",
        "While startup runs, the answer is 'lifespan.startup.complete' or 'lifespan.startup.failed'.",
        source="lifespan, Startup Complete",
        spec="Sent by the application when it has completed its startup.",
    ),
    Rule(
        "lifespan-answer-shutdown",
        "While shutdown runs, the answer is 'lifespan.shutdown.complete' or 'lifespan.shutdown.failed'.",
        source="lifespan, Shutdown Complete",
        spec="Sent by the application when it has completed its cleanup.",
    ),
    Rule(
        "lifespan-unasked",
        "The app answers only what the server asked, once.",
        source="lifespan, Startup Complete",
        spec="Sent by the application when it has completed its startup.",
    ),
    Rule(
        "lifespan-unanswered",
        "Once it has received startup or shutdown, the app answers before it returns.",
        source="lifespan, Startup Complete",
        spec="A server must wait for this message before it starts processing connections.",
    ),
    Rule(
        "lifespan-message-str",
        "The 'message' of a failure is a str.",
        source="lifespan, Startup Failed",
        spec='`message` (Unicode string) -- Optional; if missing defaults to `""`.',
    ),
)

#: Each rule's text by id.
RULES: dict[str, str] = {rule.id: rule.text for rule in TABLE}
#: The ids a client made with ``strict=False`` does not enforce.
RELAXED: frozenset[str] = frozenset(rule.id for rule in TABLE if rule.relaxed)

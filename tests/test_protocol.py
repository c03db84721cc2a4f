"""The sans-IO protocol core, driven directly: no event loop, no client.

Every rule of the table in ``asgitest._protocol._rules`` has at least one violation
here, and the test that the table and this list agree keeps it that way.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from asgitest import ASGIProtocolError
from asgitest._config import KNOWN_EXTENSIONS
from asgitest._protocol import (
    RELAXED,
    RULES,
    HTTPProtocol,
    HTTPState,
    LifespanProtocol,
    LifespanState,
    Transcript,
    WebSocketProtocol,
    WebSocketState,
)
from asgitest._protocol._checks import Checker

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
BODY = {"type": "http.response.body", "body": b"x"}
ACCEPT = {"type": "websocket.accept"}
DENY = {"type": "websocket.http.response.start", "status": 403}
RETURN = "the app returns"
STARTUP = ("server", "lifespan.startup")
SHUTDOWN = ("server", "lifespan.shutdown")
STARTED = {"type": "lifespan.startup.complete"}
#: Every extension whose messages the http machine checks (all but the scope-only ``tls``).
EVERY_EXTENSION = KNOWN_EXTENSIONS - {"tls", "websocket.http.response"}


class _File:
    """Stands in for an open file: what a zero-copy send asks of one is its descriptor."""

    def fileno(self) -> int:
        return 3


FILE = _File()


def head(status: int = 200, *headers: tuple[Any, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": list(headers), **extra}


#: Lists nested 40 deep: deeper than the walk of message values looks.
DEEP: list[Any] = []
for _ in range(40):
    DEEP = [DEEP]

#: (rule, scope, steps): each step is a message the app sends, RETURN, or a lifespan event the server sends.
VIOLATIONS: list[tuple[str, str, list[Any]]] = [
    ("message-dict", "http", ["http.response.start"]),
    ("message-dict", "websocket", [None]),
    ("message-type", "http", [{"status": 200}]),
    ("message-type", "lifespan", [STARTUP, {"type": 1}]),
    ("http-unknown-type", "http", [{"type": "http.response.strat"}]),
    ("http-unknown-type", "http", [START, {"type": "websocket.send", "text": "x"}]),
    ("http-push-offered", "http", [{"type": "http.response.push", "path": "/style.css", "headers": []}]),
    ("http-extension-offered", "http", [{"type": "http.response.early_hint", "links": []}]),
    ("http-extension-offered", "http", [START, {"type": "http.response.pathsend", "path": "/a.txt"}]),
    ("http-early-hint-before-start", "http+", [START, {"type": "http.response.early_hint", "links": []}]),
    ("http-early-hint-links", "http+", [{"type": "http.response.early_hint", "links": "</a>"}]),
    ("http-early-hint-links", "http+", [{"type": "http.response.early_hint", "links": ["</a>"]}]),
    ("http-pathsend-path", "http+", [START, {"type": "http.response.pathsend", "path": "a.txt"}]),
    (
        "http-pathsend-alone",
        "http+",
        [START, {**BODY, "more_body": True}, {"type": "http.response.pathsend", "path": "/a"}],
    ),
    ("http-zerocopysend-file", "http+", [START, {"type": "http.response.zerocopysend", "file": io.BytesIO()}]),
    ("http-zerocopysend-range", "http+", [START, {"type": "http.response.zerocopysend", "file": FILE, "count": -1}]),
    ("http-push-path", "http+", [START, {"type": "http.response.push", "path": b"/a.css", "headers": []}]),
    ("http-start-first", "http", [BODY]),
    ("http-debug-info-dict", "http", [START, {"type": "http.response.debug", "info": 5}]),
    ("http-debug-info-dict", "http", [{"type": "http.response.debug"}]),
    ("http-debug-before-start", "http", [START, {"type": "http.response.debug", "info": {}}]),
    ("http-debug-before-start", "http", [{"type": "http.response.debug", "info": {}}] * 2),
    ("message-value-types", "http", [START, {**BODY, "sent_at": float("nan")}]),
    ("message-value-types", "http", [{**START, "extra": {1: "a non-str key"}}]),
    ("message-value-types", "websocket", [ACCEPT, {"type": "websocket.send", "text": "x", "meta": object()}]),
    ("message-value-types", "websocket", [{**ACCEPT, "extra": [[[float("inf")]]]}]),
    ("message-value-types", "lifespan", [STARTUP, {**STARTED, "count": 2**64}]),
    ("message-value-types", "http", [{**START, "extra": {"nested": {3: "a non-str key, deeper"}}}]),
    ("message-value-types", "http", [{**START, "extra": DEEP}]),
    ("http-start-once", "http", [START, START]),
    ("http-status-int", "http", [head("200")]),  # type: ignore[arg-type]
    ("http-status-int", "http", [head(True)]),
    ("http-status-range", "http", [head(99)]),
    ("http-status-range", "http", [head(600)]),
    ("http-status-range", "http", [head(101)]),
    ("http-body-bytes", "http", [START, {"type": "http.response.body", "body": "text"}]),
    ("http-more-body-bool", "http", [START, {"type": "http.response.body", "body": b"x", "more_body": 1}]),
    ("http-trailers-bool", "http", [head(200, trailers="yes")]),
    ("http-no-body-status", "http", [head(204), BODY]),
    ("http-no-body-status", "http", [head(304), BODY]),
    ("http-content-length", "http", [head(200, (b"content-length", b"1")), {**BODY, "body": b"xy"}]),
    ("http-content-length", "http", [head(200, (b"Content-Length", b"5")), BODY]),
    ("http-content-length", "http", [head(200, (b"content-length", b"lots")), BODY]),
    ("http-trailers-announced", "http", [START, BODY, {"type": "http.response.trailers", "headers": []}]),
    (
        "http-trailers-after-body",
        "http",
        [head(200, trailers=True), {**BODY, "more_body": True}, {"type": "http.response.trailers"}],
    ),
    (
        "http-more-trailers-bool",
        "http",
        [head(200, trailers=True), BODY, {"type": "http.response.trailers", "headers": [], "more_trailers": 0}],
    ),
    ("http-after-complete", "http", [START, BODY, BODY]),
    ("http-after-complete", "http", [START, BODY, {"type": "http.response.debug", "info": {}}]),
    ("http-after-complete", "http", [head(200, trailers=True), BODY, BODY]),
    ("http-response-started", "http", [RETURN]),
    ("http-response-complete", "http", [START, {**BODY, "more_body": True}, RETURN]),
    ("http-response-complete", "http", [head(200, trailers=True), BODY, RETURN]),
    ("headers-iterable", "http", [head(200, headers=3)]),
    ("headers-iterable", "http", [{**START, "headers": b"content-type: text/plain"}]),
    ("header-pair", "http", [{**START, "headers": [(b"a", b"b", b"c")]}]),
    ("header-pair", "websocket", [{"type": "websocket.accept", "headers": [(b"a",)]}]),
    ("header-pair", "http", [{**START, "headers": [b"ab"]}]),
    ("header-pair", "http", [{**START, "headers": [5]}]),
    ("header-bytes", "http", [head(200, ("content-type", "text/plain"))]),
    ("header-bytes", "http", [head(200, (b"x-count", 3))]),
    ("header-name-token", "http", [head(200, (b"bad name", b"v"))]),
    ("header-name-token", "http", [head(200, (b"", b"v"))]),
    ("header-name-token", "websocket", [{"type": "websocket.accept", "headers": [(b"a:b", b"v")]}]),
    ("header-value-safe", "http", [head(200, (b"location", b"/a\r\nset-cookie: x=1"))]),
    (
        "header-value-safe",
        "http",
        [head(200, trailers=True), BODY, {"type": "http.response.trailers", "headers": [(b"x", b"\0")]}],
    ),
    ("ws-unknown-type", "websocket", [{"type": "websocket.receive", "text": "x"}]),
    ("ws-unknown-type", "websocket", [ACCEPT, {"type": "http.response.start", "status": 200}]),
    ("ws-accept-once", "websocket", [ACCEPT, ACCEPT]),
    ("ws-send-after-accept", "websocket", [{"type": "websocket.send", "text": "x"}]),
    ("ws-after-close", "websocket", [ACCEPT, {"type": "websocket.close"}, {"type": "websocket.send", "text": "x"}]),
    ("ws-after-close", "websocket", [{"type": "websocket.close"}, ACCEPT]),
    ("ws-after-close", "websocket", [DENY, {"type": "websocket.http.response.body"}, DENY]),
    ("ws-send-one-payload", "websocket", [ACCEPT, {"type": "websocket.send"}]),
    ("ws-send-one-payload", "websocket", [ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"b"}]),
    ("ws-text-str", "websocket", [ACCEPT, {"type": "websocket.send", "text": b"a"}]),
    ("ws-bytes-bytes", "websocket", [ACCEPT, {"type": "websocket.send", "bytes": "a"}]),
    ("ws-subprotocol-str", "websocket", [{"type": "websocket.accept", "subprotocol": 1}]),
    ("ws-subprotocol-offered", "websocket", [{"type": "websocket.accept", "subprotocol": "graphql-ws"}]),
    ("ws-accept-protocol-header", "websocket", [{**ACCEPT, "headers": [(b"Sec-WebSocket-Protocol", b"chat")]}]),
    ("ws-close-code-int", "websocket", [{"type": "websocket.close", "code": "1000"}]),
    ("ws-close-code-range", "websocket", [ACCEPT, {"type": "websocket.close", "code": 1006}]),
    ("ws-close-code-range", "websocket", [ACCEPT, {"type": "websocket.close", "code": 5000}]),
    ("ws-close-code-range", "websocket", [ACCEPT, {"type": "websocket.close", "code": 999}]),
    ("ws-close-reason-str", "websocket", [{"type": "websocket.close", "reason": 5}]),
    ("ws-close-reason-length", "websocket", [ACCEPT, {"type": "websocket.close", "reason": "é" * 62}]),
    ("ws-denial-offered", "websocket-", [DENY]),
    ("ws-denial-in-handshake", "websocket", [ACCEPT, DENY]),
    ("ws-denial-in-handshake", "websocket", [DENY, ACCEPT]),
    ("ws-denial-in-handshake", "websocket", [DENY, {"type": "websocket.send", "text": "x"}]),
    ("ws-denial-in-handshake", "websocket", [DENY, {"type": "websocket.close"}]),
    ("ws-denial-start-first", "websocket", [{"type": "websocket.http.response.body", "body": b""}]),
    ("ws-denial-status-int", "websocket", [{**DENY, "status": "403"}]),
    ("ws-denial-body-bytes", "websocket", [DENY, {"type": "websocket.http.response.body", "body": 1}]),
    ("ws-denial-more-body-bool", "websocket", [DENY, {"type": "websocket.http.response.body", "more_body": "no"}]),
    ("lifespan-unknown-type", "lifespan", [STARTUP, {"type": "lifespan.startup"}]),
    ("lifespan-answer-startup", "lifespan", [STARTUP, {"type": "lifespan.shutdown.complete"}]),
    ("lifespan-answer-shutdown", "lifespan", [STARTUP, STARTED, SHUTDOWN, {"type": "lifespan.startup.failed"}]),
    ("lifespan-unasked", "lifespan", [STARTED]),
    ("lifespan-unasked", "lifespan", [STARTUP, STARTED, STARTED]),
    ("lifespan-message-str", "lifespan", [STARTUP, {"type": "lifespan.startup.failed", "message": 3}]),
    ("lifespan-unanswered", "lifespan", [STARTUP, RETURN]),
    ("lifespan-unanswered", "lifespan", [STARTUP, STARTED, SHUTDOWN, RETURN]),
]


def machine(scope: str, *, strict: bool = True) -> Checker:
    if scope == "http":
        return HTTPProtocol("GET /x", strict=strict)
    if scope == "http+":  # every extension offered
        return HTTPProtocol("GET /x", strict=strict, offered=EVERY_EXTENSION)
    if scope.startswith("websocket"):  # "websocket-": no denial response offered
        return WebSocketProtocol("WebSocket /ws", strict=strict, offered=["chat"], denials=scope == "websocket")
    return LifespanProtocol("lifespan", strict=strict)


def play(checker: Any, steps: list[Any]) -> None:
    for step in steps:
        if step == RETURN:
            error = checker.app_returned()
            if error is not None:
                raise error
        elif isinstance(step, tuple):
            checker.server_sends(step[1])
        else:
            checker.app_sends(step)


@pytest.mark.parametrize(("rule", "scope", "steps"), VIOLATIONS, ids=[f"{v[0]}-{i}" for i, v in enumerate(VIOLATIONS)])
def test_each_violation_names_its_rule(rule: str, scope: str, steps: list[Any]) -> None:
    checker = machine(scope)
    with pytest.raises(ASGIProtocolError) as caught:
        play(checker, steps)
    error = caught.value
    assert error.rule == rule
    text = str(error)
    assert text.startswith(f"{checker.where}: ASGI rule [{rule}] broken: {RULES[rule]}")
    assert " while " in text  # the state
    if steps != [RETURN]:  # what happened before, unless nothing did
        assert f"last ASGI events of {checker.where}:" in text


def test_every_rule_of_the_table_has_a_violation() -> None:
    assert {rule for rule, _, _ in VIOLATIONS} == set(RULES)
    assert len(RULES) >= 30


@pytest.mark.parametrize(
    ("rule", "scope", "steps"),
    [v for v in VIOLATIONS if v[0] in RELAXED],
    ids=[f"{v[0]}-{i}" for i, v in enumerate(VIOLATIONS) if v[0] in RELAXED],
)
def test_a_relaxed_checker_lets_the_relaxed_rules_pass(rule: str, scope: str, steps: list[Any]) -> None:
    play(machine(scope, strict=False), steps)


def test_relaxed_means_what_starlette_tolerates() -> None:
    assert {"http-status-range", "http-content-length", "http-response-complete", "header-name-token"} <= RELAXED
    assert not {"header-bytes", "http-start-first", "ws-send-after-accept", "message-type"} & RELAXED


def test_http_happy_path_with_trailers() -> None:
    http = HTTPProtocol("GET /")
    http.app_sends({"type": "http.response.debug", "info": {}})
    http.app_sends(head(200, (b"content-length", b"2"), trailers=True))
    assert http.state is HTTPState.BODY
    http.app_sends({"type": "http.response.body", "body": b"x", "more_body": True})
    http.app_sends({"type": "http.response.body", "body": b"y"})
    assert http.state is HTTPState.TRAILERS
    http.app_sends({"type": "http.response.trailers", "headers": [], "more_trailers": False})
    assert http.state is HTTPState.DONE
    assert http.app_returned() is None


def test_header_checks_take_any_pair_shape_and_stay_checked_when_names_repeat() -> None:
    for headers in (
        [(b"x-name", b"1")],
        ((b"x-name", b"2"),),  # a tuple of pairs
        [[b"x-name", b"3"]],  # pairs as lists
        [(bytearray(b"x-name"), bytearray(b"4"))],  # bytearrays, as the spec allows
        iter([(b"x-name", b"5")]),  # any iterable
    ):
        http = HTTPProtocol("GET /")
        http.app_sends({"type": "http.response.start", "status": 200, "headers": headers})
        assert http.state is HTTPState.BODY
    for bad in ([(b"x name", b"v")], [(b"x-name", b"a\r\nb")], [(b"x-name",)], [b"x-name: v"], "x-name"):
        with pytest.raises(ASGIProtocolError):
            HTTPProtocol("GET /").app_sends({"type": "http.response.start", "status": 200, "headers": bad})


def test_a_head_response_declares_a_length_without_a_body() -> None:
    http = HTTPProtocol("HEAD /", head=True)
    http.app_sends(head(200, (b"content-length", b"100")))
    http.app_sends({"type": "http.response.body", "body": b""})
    assert http.state is HTTPState.DONE


def test_websocket_accept_send_close() -> None:
    ws = WebSocketProtocol("WebSocket /ws", offered=["chat"])
    ws.app_sends({"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x", b"y")]})
    assert ws.state is WebSocketState.CONNECTED
    ws.app_sends({"type": "websocket.send", "text": "hi"})
    ws.app_sends({"type": "websocket.send", "bytes": b"hi"})
    ws.app_sends({"type": "websocket.close", "code": 4001, "reason": "bye"})
    assert ws.state is WebSocketState.CLOSED


def test_websocket_denial_response() -> None:
    ws = WebSocketProtocol("WebSocket /ws")
    ws.app_sends(DENY)
    assert ws.state is WebSocketState.RESPONDING
    ws.app_sends({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
    ws.app_sends({"type": "websocket.http.response.body", "body": b"!"})
    assert ws.state is WebSocketState.CLOSED


def test_lifespan_round_trip() -> None:
    lifespan = LifespanProtocol()
    lifespan.server_sends("lifespan.startup")
    lifespan.app_sends(STARTED)
    assert lifespan.state is LifespanState.STARTED
    assert lifespan.app_returned() is None
    lifespan.server_sends("lifespan.shutdown")
    lifespan.app_sends({"type": "lifespan.shutdown.failed", "message": "disk full"})
    assert lifespan.state is LifespanState.DONE


def test_a_transcript_redacts_credentials_and_cuts_payloads() -> None:
    transcript = Transcript("GET /secret")
    transcript.opened(
        {"type": "http", "method": "GET", "path": "/secret", "headers": [(b"authorization", b"Bearer hunter2")]}
    )
    transcript.app_received({"type": "http.request", "body": b"p" * 10_000, "more_body": False})
    transcript.app_sent(head(200, (b"set-cookie", b"session=s3cr3t"), (b"content-type", b"text/plain")))
    transcript.app_sent({"type": "http.response.body", "body": b"ok"})
    transcript.note("the test closed the response")
    text = transcript.render()
    assert "hunter2" not in text
    assert "s3cr3t" not in text
    assert text.count("<redacted>") == 2
    assert "content-type: text/plain" in text
    assert "(10000 bytes)" in text
    lines = text.splitlines()
    assert lines[0] == "last ASGI events of GET /secret:"
    assert [line.split()[1] for line in lines[1:]] == ["--", "app", "app", "app", "--"]
    assert "app <- http.request" in lines[2]
    assert "app -> http.response.start status=200" in lines[3]


def test_a_transcript_keeps_the_last_events() -> None:
    transcript = Transcript("WebSocket /ws")
    for number in range(100):
        transcript.app_sent({"type": "websocket.send", "text": str(number)})
    text = transcript.render()
    assert "earlier not shown" in text
    assert "text='99'" in text
    assert "text='5'" not in text
    assert len(transcript) <= 32


def test_the_protocol_core_imports_only_itself_and_the_standard_library() -> None:
    """The core is pure: no event loop, no HTTP client, no framework (its errors are its own)."""
    import ast
    import pathlib
    import sys

    import asgitest._protocol

    core = pathlib.Path(asgitest._protocol.__file__).parent
    outside = []
    for module in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
                if node.level > 1 or (node.level == 0 and top not in sys.stdlib_module_names | {"__future__"}):
                    outside.append(f"{module.name}: from {'.' * node.level}{node.module} import ...")
            elif isinstance(node, ast.Import):
                outside += [
                    f"{module.name}: import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] not in sys.stdlib_module_names
                ]
    assert outside == []


def test_every_state_and_message_type_is_a_move_or_a_refusal() -> None:
    """The tables are whole: for each state, each message type the app may send is either a
    move or refused with a named rule, never both."""
    from asgitest._protocol import _http, _lifespan, _websocket
    from asgitest._protocol._rules import RULES

    http_types = ["http.response.start", "http.response.body", "http.response.trailers", "http.response.debug"]
    http_types += ["http.response.push", "http.response.early_hint", "http.response.pathsend"]
    http_types.append("http.response.zerocopysend")
    ws_types = ["websocket.accept", "websocket.send", "websocket.close"]
    ws_types += ["websocket.http.response.start", "websocket.http.response.body"]
    for moves, refused, states, types in (
        (_http.MOVES, _http.REFUSED, HTTPState, http_types),
        (_websocket.MOVES, _websocket.REFUSED, WebSocketState, ws_types),
    ):
        for state in states:
            for kind in types:
                assert ((state, kind) in moves) != ((state, kind) in refused), (state, kind)
        assert {pair for pair in list(moves) + list(refused)} == {(s, k) for s in states for k in types}
        named = [entry[0] if isinstance(entry, tuple) else entry for entry in refused.values()]
        assert set(named) <= set(RULES)
    answers = ["lifespan.startup.complete", "lifespan.startup.failed"]
    answers += ["lifespan.shutdown.complete", "lifespan.shutdown.failed"]
    for state in LifespanState:
        for kind in answers:
            assert (state, kind) in _lifespan.MOVES or _lifespan.REFUSED[state] in RULES


def test_message_values_of_the_types_servers_take_pass_the_strict_walk() -> None:
    http = HTTPProtocol("GET /")
    extra = {"ints": (1, -(2**63)), "floats": [0.5], "bytes": [bytearray(b"a"), memoryview(b"b")], "none": None}
    http.app_sends({**START, "extra": extra, "flag": True})
    http.app_sends({**BODY, "body": memoryview(b"x")})
    assert http.state is HTTPState.DONE


def test_the_test_s_side_is_modelled_too() -> None:
    """The client's disconnect and the test's close are moves of the core; from them on, the
    app's sends are refused (the shell raises ClientDisconnected, as a server raises OSError)."""
    http = HTTPProtocol("GET /")
    http.app_sends(START)
    assert not http.refusing
    assert http.client_disconnects("the test closed the response before its end")
    assert not http.client_disconnects("again")  # once
    assert http.refusing
    assert http.disconnect_reason == "the test closed the response before its end"
    assert "the client disconnected: the test closed the response" in http.transcript.render()

    ws = WebSocketProtocol("WebSocket /ws")
    ws.app_sends(ACCEPT)
    disconnect = ws.test_closes(4000, "bye", "closed by the test with code 4000")
    assert disconnect == {"type": "websocket.disconnect", "code": 4000, "reason": "bye"}
    assert not ws.refusing  # the app has not taken the close yet: it is at earlier messages
    ws.app_sends({"type": "websocket.send", "text": "still fine"})
    ws.app_received(disconnect)
    assert ws.refusing
    assert ws.describe_close().startswith("closed by the test with code 4000 ")

    returned = WebSocketProtocol("WebSocket /ws")
    returned.app_sends(ACCEPT)
    returned.test_closes(1000, None, "closed by the test with code 1000")
    returned.app_finished()
    assert returned.refusing

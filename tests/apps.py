"""Small raw ASGI apps shared by the tests."""

from __future__ import annotations

import json
from typing import Any

from asgitest import Message, Receive, Scope, Send


async def send_json(send: Send, data: Any, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def jsonable_scope(scope: Scope) -> dict[str, Any]:
    """The scope with bytes decoded, for returning it to the test."""

    def convert(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode("latin-1")
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {key: convert(value) for key, value in scope.items()}


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """HTTP: answers with the scope and the request body."""
    if scope["type"] == "lifespan":
        await lifespan_ok(scope, receive, send)
        return
    body = await read_body(receive)
    await send_json(send, {"scope": jsonable_scope(scope), "body": body.decode()})


async def lifespan_ok(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return

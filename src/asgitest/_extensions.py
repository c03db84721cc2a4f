"""What the client does with the messages of the ASGI extensions it offers, once the state
machine has taken them: early hints and server pushes are recorded for the response
(``response.extensions``), and a body sent as a file (``http.response.pathsend``,
``http.response.zerocopysend``) is read in chunks and reaches the test as any body does.

Which extensions a scope offers is the client's ``extensions`` argument (see
:func:`~asgitest._config.offered_extensions`); the state machine refuses the messages of
the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._errors import ASGIProtocolError
from ._protocol import HTTPState
from ._types import Message

if TYPE_CHECKING:
    from ._http import HTTPExchange

__all__ = ["FILE_CHUNK", "deliver"]

#: The largest chunk of a file body that reaches the test in one piece.
FILE_CHUNK = 64 * 1024


async def deliver(exchange: HTTPExchange, kind: str, message: Message) -> None:
    """Act on ``message``, of the extension ``kind``, that the app sent on ``exchange``."""
    if kind == "http.response.early_hint":
        exchange.early_hints.append([bytes(link) for link in message["links"]])
    elif kind == "http.response.push":
        headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
        exchange.pushes.append({"path": message["path"], "headers": headers})
    else:
        await _send_file(exchange, message, _chunks(exchange, message))


def _chunks(exchange: HTTPExchange, message: Message) -> Iterator[bytes]:
    """The chunks of the file ``message`` sends; raises the rule it breaks if there is none."""
    if message["type"] == "http.response.pathsend":
        path = message["path"]
        try:
            file: Any = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except OSError as exc:
            detail = f"There is no file to read at {path!r}: {exc.strerror or exc}."
            error = exchange.protocol.error("http-pathsend-path", message, HTTPState.BODY, detail)
            raise _broken(exchange, error) from None
        return _read(file, None, None, owned=True)
    return _read(message["file"], message.get("offset"), message.get("count"), owned=False)


def _read(file: Any, offset: int | None, count: int | None, *, owned: bool) -> Iterator[bytes]:
    """``count`` bytes of ``file`` (all that is left when None) from ``offset``, in chunks.

    With an ``offset``, the file's position is left where it was, as ``os.sendfile``
    leaves it; without, the bytes are read from the file's position, which moves past them.
    """
    try:
        kept = None if offset is None else file.tell()
        if offset is not None:
            file.seek(offset)
        left = count
        while left is None or left > 0:
            chunk = file.read(FILE_CHUNK if left is None else min(FILE_CHUNK, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            yield bytes(chunk)
        if kept is not None:
            file.seek(kept)
    finally:
        if owned:
            file.close()


async def _send_file(exchange: HTTPExchange, message: Message, chunks: Iterator[bytes]) -> None:
    """Deliver ``chunks`` as the body ``message`` sends; then count them, which ends the body
    unless ``more_body`` says otherwise."""
    size = 0
    head = exchange.request.method == "HEAD"
    for chunk in chunks:
        size += len(chunk)
        if not head:
            await exchange.body(chunk, HTTPState.BODY)
    try:
        exchange.protocol.file_sent(message, size)
    except ASGIProtocolError as exc:
        raise _broken(exchange, exc) from None
    await exchange.body(b"", exchange.protocol.state)


def _broken(exchange: HTTPExchange, error: ASGIProtocolError) -> ASGIProtocolError:
    """``error``, kept as the rule the app broke (see :meth:`Connection.checked`)."""
    exchange.violation = exchange.violation or error
    return error

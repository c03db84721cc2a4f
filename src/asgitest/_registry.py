"""The connections of one client: numbering, closing what is left open, stale references.

A connection is anything with an app task that the client must end when it
closes (an HTTP exchange whose body is still being read, a WebSocket session).
After a WebSocket closes, the registry keeps a weak reference to the object
whose ``receive``/``send`` the app was given. If the app still holds that object
once the client is closed (a module-level list of sockets, ``app.state``), the
registry reports it: that is the reference that makes a later test fail.
"""

from __future__ import annotations

import gc
import itertools
import warnings
import weakref
from collections import Counter
from typing import Any, Protocol

from ._config import ClientConfig
from ._errors import StaleConnectionWarning

__all__ = ["Connection", "Registry", "warn_stale"]


class Connection(Protocol):
    """What the registry needs of an open connection."""

    async def abort(self, reason: str) -> None:
        """End the connection because the client is closing.

        Raises only if the app cannot be stopped (it swallows cancellation).
        """


class Registry:
    """Tracks one client's open connections and the closed ones the app may still hold."""

    __slots__ = ("_closed", "_numbers", "_open", "config")

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._numbers = itertools.count(1)
        self._open: dict[Connection, None] = {}
        self._closed: list[tuple[weakref.ref[Any], str]] = []

    def number(self) -> int:
        """A fresh connection number, for messages."""
        return next(self._numbers)

    def opened(self, connection: Connection) -> None:
        self._open[connection] = None

    def ended(self, connection: Connection) -> None:
        self._open.pop(connection, None)

    def watch(self, app_side: weakref.ref[Any], path: str) -> None:
        """Remember a closed WebSocket's app-side object, to report it if the app keeps it."""
        if app_side() is not None:
            self._closed.append((app_side, path))

    async def close_all(self) -> None:
        """Abort every connection still open, oldest first; then raise the first failure to stop."""
        failure: BaseException | None = None
        while self._open:
            connection = next(iter(self._open))
            self._open.pop(connection)
            try:
                await connection.abort("its client was closed")
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def stale(self) -> list[str]:
        """Messages about closed WebSockets the app still references, one per path; forgets them."""
        if not any(ref() is not None for ref, _ in self._closed):
            self._closed.clear()
            return []
        gc.collect()  # only cycles are left to rule out; runs only when something may leak
        stale = Counter(path for ref, path in self._closed if ref() is not None)
        self._closed.clear()
        return [
            f"{count} closed WebSocket connection(s) to {path} of {self.config.label} are still "
            "referenced by the app after the client closed. The app keeps closed connections "
            "(a list or set of sockets, app.state): the next send to them raises ClientDisconnected. "
            "Remove a socket from the collection when it disconnects."
            for path, count in stale.items()
        ]


def warn_stale(messages: list[str], stacklevel: int) -> None:
    """Emit :class:`StaleConnectionWarning` for each message, attributed to the caller's caller."""
    for message in messages:
        warnings.warn(message, StaleConnectionWarning, stacklevel=stacklevel + 1)

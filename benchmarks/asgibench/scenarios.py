"""The tables of what is measured: the scenarios and the clients each runs, the targets, the costs.

A :class:`Scenario` pairs a sync and an async session of :mod:`.operations` with the
names of the clients (:data:`~.contenders.CLIENTS`) that run it; a :class:`Target` is a
ratio the report judges; :data:`COSTS` pairs a client with its variant lacking a feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from .apps import BROADCAST_SOCKETS, SSE_EVENTS
from .contenders import AsyncContender, Client, Contender, SyncContender
from .operations import (
    AsyncSession,
    SyncSession,
    async_broadcast,
    async_echo,
    async_get,
    async_lifecycle,
    async_sse,
    async_upload,
    sync_broadcast,
    sync_echo,
    sync_get,
    sync_lifecycle,
    sync_sse,
    sync_upload,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sync_session: SyncSession
    async_session: AsyncSession
    clients: tuple[str, ...]

    def contender(self, client: Client) -> Contender:
        if client.sync is not None:
            make_client = client.sync
            return SyncContender(client.name, lambda: self.sync_session(make_client))
        assert client.driver is not None
        open_driver = client.driver
        return AsyncContender(client.name, lambda: self.async_session(open_driver))


WEBSOCKET_CLIENTS = ("asgitest", "starlette", "asgitest-async", "httpx2-ws", "async-asgi-testclient", "direct")
CHECKS_CLIENTS = (
    "asgitest",
    "asgitest-strict",
    "asgitest-no-transcript",
    "asgitest-async",
    "asgitest-async-strict",
    "asgitest-async-no-transcript",
)

SCENARIOS = [
    Scenario(
        "get",
        "sequential GET of a tiny JSON route",
        sync_get,
        async_get,
        (
            "asgitest",
            "starlette",
            "httpx2-floor-sync",
            "asgitest-async",
            "httpx2-asgi",
            "httpx2-floor",
            "async-asgi-testclient",
            "direct",
        ),
    ),
    Scenario(
        "post-64k",
        "POST of a 64 KiB body, the app returns its length",
        sync_upload,
        async_upload,
        ("asgitest", "starlette", "asgitest-async", "httpx2-asgi", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "ws-echo", "WebSocket send_text + receive_text on one open socket", sync_echo, async_echo, WEBSOCKET_CLIENTS
    ),
    Scenario(
        "broadcast",
        f"POST whose BackgroundTask sends to {BROADCAST_SOCKETS} sockets, each receiving it",
        sync_broadcast,
        async_broadcast,
        WEBSOCKET_CLIENTS,
    ),
    Scenario(
        "sse",
        f"read {SSE_EVENTS} server-sent events from one streamed response",
        sync_sse,
        async_sse,
        ("asgitest", "starlette", "asgitest-async", "httpx2-asgi", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "lifecycle",
        "new client, enter (lifespan), one GET, exit",
        sync_lifecycle,
        async_lifecycle,
        ("asgitest", "starlette", "asgitest-async", "async-asgi-testclient", "direct"),
    ),
    Scenario(
        "checks-get",
        "GET, asgitest with and without strict checks and transcripts",
        sync_get,
        async_get,
        CHECKS_CLIENTS,
    ),
    Scenario(
        "checks-ws-echo",
        "WebSocket echo, asgitest with and without strict checks and transcripts",
        sync_echo,
        async_echo,
        CHECKS_CLIENTS,
    ),
]


@dataclass(frozen=True)
class Target:
    """``contender`` runs ``scenario`` at least ``minimum`` times as fast as ``baseline``."""

    label: str
    scenario: str
    contender: str
    baseline: str
    minimum: float


TARGETS = [
    Target("sync GET vs Starlette", "get", "asgitest", "starlette", 5),
    Target("sync GET vs httpx2 do-nothing floor", "get", "asgitest", "httpx2-floor-sync", 0.85),
    Target("async GET vs httpx2 ASGITransport", "get", "asgitest-async", "httpx2-asgi", 1.15),
    Target("async GET vs httpx2 do-nothing floor", "get", "asgitest-async", "httpx2-floor", 0.85),
    Target("sync WS echo vs Starlette", "ws-echo", "asgitest", "starlette", 5),
    Target("async WS echo vs direct", "ws-echo", "asgitest-async", "direct", 0.7),
    Target("sync broadcast vs Starlette", "broadcast", "asgitest", "starlette", 10),
    Target("async broadcast vs direct", "broadcast", "asgitest-async", "direct", 0.7),
    Target("sync SSE vs Starlette", "sse", "asgitest", "starlette", 10),
    Target("async SSE vs async-asgi-testclient", "sse", "asgitest-async", "async-asgi-testclient", 1.0),
    Target("sync lifecycle vs Starlette", "lifecycle", "asgitest", "starlette", 10),
]

#: (scenario, feature, asgitest with it, asgitest without it): what the feature costs.
COSTS = [
    pair
    for scenario in ("checks-get", "checks-ws-echo")
    for client in ("asgitest", "asgitest-async")
    for pair in (
        (scenario, "strict checks", f"{client}-strict", client),
        (scenario, "transcripts", client, f"{client}-no-transcript"),
    )
]

"""The do-nothing floor: httpx2 clients whose transport never reaches an app.

What httpx2 itself costs per request, the floor under any client built on it: the sync
``floor_client`` and the async transport the ``httpx2-floor`` driver uses.
"""

from __future__ import annotations

import httpx2
from starlette.applications import Starlette

from .apps import BASE_URL, JSON_BODY


def canned_response() -> httpx2.Response:
    """What ``/json`` answers, made without any ASGI."""
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=JSON_BODY)


class CannedTransport(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return canned_response()


class AsyncCannedTransport(httpx2.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return canned_response()


def floor_client(app: Starlette) -> httpx2.Client:
    """A sync httpx2 client that ignores ``app``: what httpx2 alone costs per request."""
    return httpx2.Client(transport=CannedTransport(), base_url=BASE_URL)

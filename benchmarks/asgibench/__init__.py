"""Side-by-side throughput of asgitest, Starlette's TestClient and other ASGI clients, in one process.

Contenders (each runs the scenarios its client can run; an optional one that is not
installed is reported as such and skipped):

* ``asgitest``: ``asgitest.TestClient`` (sync, entered with ``with``);
* ``starlette``: ``starlette.testclient.TestClient`` (sync, entered with ``with``);
* ``httpx2-floor-sync``: an ``httpx2.Client`` whose transport returns a canned response
  without any ASGI (``get`` only): the cost of httpx2 itself, the floor of a sync client;
* ``asgitest-async``: ``asgitest.AsyncTestClient`` on an asyncio loop;
* ``httpx2-asgi``: ``httpx2.AsyncClient`` over ``httpx2.ASGITransport`` (it buffers the
  whole body before returning, ``sse`` included; it has no WebSockets and no lifespan);
* ``httpx2-ws``: ``httpx2.AsyncClient`` over ``httpx2.websockets.ASGIWebSocketTransport``
  (WebSocket scenarios; needs ``wsproto``);
* ``httpx2-floor``: the async do-nothing floor, as ``httpx2-floor-sync`` (``get`` only);
* ``async-asgi-testclient``: its ``TestClient`` (optional; ``sse`` reads its streaming
  response through httpx2's SSE parser, the one ``client.sse`` uses);
* ``direct``: the ASGI app called directly with hand-made ``receive``/``send`` (async):
  the floor any in-process client adds its overhead to.

Each scenario opens every contender, warms it up (which also sizes its rounds), then
runs the rounds interleaved (the order rotates each round) and reports the median
ops/s. The targets compare contenders measured in the same scenario, so they are
ratios taken side by side. Async contenders each own an asyncio loop, which runs only
while they are measured, and run their session in one task, as ``asyncio.run`` would.

The ``checks-*`` scenarios measure what asgitest's protocol checks (``strict=True`` vs
``strict=False``) and its transcripts (``transcripts=True`` vs ``transcripts=False``)
cost. The scale scenarios open many WebSockets on one client and run long sequences of
GETs, reporting RSS and ops/s per slice.

The modules, in the order they build on each other: ``apps`` (the Starlette app under
test), ``floor`` (httpx2 clients that never reach an app), ``drivers`` (the async
clients behind one interface), ``direct`` (the app called by hand), ``operations`` (one
op of each scenario, sync and async), ``contenders`` (running a session; the table of
clients), ``scenarios`` (the tables of scenarios, targets and costs), ``measure``
(warm-up and interleaved rounds), ``scale`` (many WebSockets, long runs), ``report``
(tables, verdicts, costs, JSON, chart) and ``cli`` (the options and ``main``).

Usage: ``python benchmarks/bench.py [--quick] [--scale] [--rounds N] [--only SCENARIO ...]
[--cpu N] [--json PATH] [--chart PATH]``
"""

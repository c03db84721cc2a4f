"""Scale: many WebSockets open on one client with one broadcast to all (fan-out), and long runs of GETs (soak).

The fan-out times opening, broadcasting to and closing ``sockets`` WebSockets; the soak
runs sequential GETs in slices and records ops/s and the process's RSS after each.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import sys
import time
from dataclasses import dataclass, field

from .apps import check_no_sockets_left, make_app
from .contenders import CLIENTS, Contender
from .drivers import DriverFactory
from .operations import broadcast_once, open_room
from .scenarios import SCENARIOS


@dataclass
class ScaleSettings:
    sockets: int
    gets: int
    slice_size: int


@dataclass
class Fanout:
    """One client with ``sockets`` WebSockets open at once, and one broadcast to them all."""

    contender: str
    sockets: int
    open_seconds: float
    broadcast_seconds: float
    close_seconds: float


@dataclass
class Soak:
    """``gets`` sequential GETs on one client, in slices: ops/s and RSS after each."""

    contender: str
    slice_size: int
    rss_before_kib: int
    rss_after_kib: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)


def rss_kib() -> int:
    """The process's resident set now (``VmRSS``), or its peak where ``/proc`` is missing."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


async def fanout(name: str, open_driver: DriverFactory, count: int) -> Fanout:
    app = make_app()
    async with open_driver(app) as driver:
        async with contextlib.AsyncExitStack() as sockets:
            start = time.perf_counter()
            room = await open_room(driver, sockets, count)
            opened = time.perf_counter()
            await broadcast_once(driver, room, "news")
            broadcast = time.perf_counter()
        closed = time.perf_counter()
    check_no_sockets_left(app)
    return Fanout(name, count, opened - start, broadcast - opened, closed - broadcast)


def soak(contender: Contender, settings: ScaleSettings) -> Soak:
    """Run ``settings.gets`` ops after a warm-up, a slice at a time."""
    contender.open()
    try:
        contender.run(settings.slice_size // 10)
        gc.collect()
        result = Soak(contender.name, settings.slice_size, rss_kib())
        for _ in range(settings.gets // settings.slice_size):
            result.rates.append(settings.slice_size / contender.run(settings.slice_size))
            result.rss_after_kib.append(rss_kib())
    finally:
        contender.close()
    return result


def run_scale(settings: ScaleSettings) -> tuple[list[Fanout], list[Soak]]:
    fanouts: list[Fanout] = []
    for name in ("asgitest-async", "direct"):
        driver = CLIENTS[name].driver
        assert driver is not None
        print(f"running scale: {settings.sockets} WebSockets on one client ({name})", file=sys.stderr, flush=True)
        fanouts.append(asyncio.run(fanout(name, driver, settings.sockets)))
    get = next(s for s in SCENARIOS if s.name == "get")
    soaks: list[Soak] = []
    for name in ("asgitest", "asgitest-async"):
        print(f"running scale: {settings.gets:,} GETs on one client ({name})", file=sys.stderr, flush=True)
        soaks.append(soak(get.contender(CLIENTS[name]), settings))
    return fanouts, soaks

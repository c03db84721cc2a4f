"""Measuring a scenario: each contender opened and warmed up, then rounds of all of them interleaved.

:class:`Settings` sizes the rounds, a :class:`Result` holds one contender's ops/s per
round in one scenario, and a :class:`Run` everything one run measured.
"""

from __future__ import annotations

import gc
import statistics
from dataclasses import dataclass, field

from .contenders import CLIENTS, Contender
from .scenarios import Scenario


@dataclass
class Settings:
    rounds: int
    round_seconds: float
    warmup_seconds: float


@dataclass
class Result:
    scenario: str
    contender: str
    rates: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds, as a fraction."""
        return (max(self.rates) - min(self.rates)) / self.median


@dataclass
class Run:
    """Everything one run measured."""

    results: list[Result] = field(default_factory=list)
    #: scenario -> contender -> the optional packages it lacked.
    skipped: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def find(self, scenario: str, contender: str) -> Result | None:
        return next((r for r in self.results if r.scenario == scenario and r.contender == contender), None)


def warm_up(contender: Contender, seconds: float) -> float:
    """Run doubling batches for at least ``seconds`` in all; return the seconds per op of the last batch."""
    n, spent = 1, 0.0
    while True:
        elapsed = contender.run(n)
        spent += elapsed
        if spent >= seconds:
            return elapsed / n
        n *= 2


def measure(contenders: list[Contender], scenario: str, settings: Settings) -> list[Result]:
    """Open and warm up each contender, then run their rounds interleaved."""
    results = {c.name: Result(scenario, c.name) for c in contenders}
    sizes: dict[str, int] = {}
    opened: list[Contender] = []
    try:
        for contender in contenders:
            contender.open()
            opened.append(contender)
            per_op = warm_up(contender, settings.warmup_seconds)
            sizes[contender.name] = max(1, round(settings.round_seconds / max(per_op, 1e-9)))
        for round_number in range(settings.rounds):
            shift = round_number % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                n = sizes[contender.name]
                # Each round starts with no garbage: a client that leaves reference cycles
                # pays for collecting them in its own rounds, not in the next contender's.
                gc.collect()
                results[contender.name].rates.append(n / contender.run(n))
    finally:
        for contender in reversed(opened):
            contender.close()
    return list(results.values())


def run_scenario(scenario: Scenario, settings: Settings, run: Run) -> None:
    """Measure the contenders of ``scenario`` whose packages are installed; note the others."""
    contenders: list[Contender] = []
    for name in scenario.clients:
        client = CLIENTS[name]
        if missing := client.missing():
            run.skipped.setdefault(scenario.name, {})[name] = missing
        else:
            contenders.append(scenario.contender(client))
    run.results.extend(measure(contenders, scenario.name, settings))

"""The report of a run: the header, the ops/s table, the targets' verdicts, the costs, scale, JSON and chart.

Everything printed goes to stdout as plain tables (progress and warnings go to stderr);
:func:`write_json` writes every figure and :func:`write_chart` a PNG of the target ratios.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version

from .contenders import CLIENTS
from .measure import Run, Settings
from .scale import Fanout, Soak
from .scenarios import COSTS, Target


@dataclass
class Verdict:
    target: Target
    ratio: float | None
    #: Why there is no ratio (a contender not installed or not run).
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.ratio is not None and self.ratio >= self.target.minimum

    @property
    def text(self) -> str:
        if self.ratio is None:
            return self.reason
        return "holds" if self.holds else "misses"


def judge(target: Target, run: Run) -> Verdict:
    for name in (target.contender, target.baseline):
        if missing := run.skipped.get(target.scenario, {}).get(name):
            return Verdict(target, None, f"n/a: {name} not installed ({', '.join(missing)})")
    contender, baseline = run.find(target.scenario, target.contender), run.find(target.scenario, target.baseline)
    if contender is None or baseline is None:
        return Verdict(target, None, "not run")
    return Verdict(target, contender.median / baseline.median)


def package_versions() -> dict[str, str]:
    names = ("asgitest", "starlette", "anyio", "httpx2", "wsproto", "async-asgi-testclient", "matplotlib")
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def print_header(settings: Settings) -> None:
    cpus = f"{os.cpu_count()} CPUs"
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) != os.cpu_count():
        cpus += f", pinned to {sorted(os.sched_getaffinity(0))}"
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {cpus}")
    print(", ".join(f"{name} {v}" for name, v in package_versions().items()))
    print(
        f"{settings.rounds} rounds of ~{settings.round_seconds:g}s per contender, "
        f"warmup ~{settings.warmup_seconds:g}s; ops/s is the median round\n"
    )


def print_rows(header: tuple[str, ...], rows: list[tuple[str, ...]], text: frozenset[int] = frozenset({0})) -> None:
    """A plain table; the columns numbered in ``text`` are left-aligned, the others (figures) right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (c.ljust(w) if i in text else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        print("  ".join(cells).rstrip())


def print_table(run: Run, scenarios: list[str]) -> None:
    """One row per scenario, ops/s per contender ("-": cannot run it, "n/i": not installed)."""
    ran = {(r.scenario, r.contender): r for r in run.results}
    columns = [name for name in CLIENTS if any((s, name) in ran or name in run.skipped.get(s, {}) for s in scenarios)]
    rows = []
    for scenario in scenarios:
        cells = []
        for name in columns:
            result = ran.get((scenario, name))
            cells.append(f"{result.median:,.0f}" if result else "n/i" if name in run.skipped.get(scenario, {}) else "-")
        spread = max((r.spread for (s, _), r in ran.items() if s == scenario), default=0.0)
        rows.append((scenario, *cells, f"{spread:.0%}"))
    print_rows(("ops/s", *columns, "max spread"), rows)
    missing = {name: packages for skipped in run.skipped.values() for name, packages in skipped.items()}
    for name, packages in missing.items():
        print(f"n/i: {name} is not installed ({', '.join(packages)}), skipped")


def print_verdicts(verdicts: list[Verdict]) -> None:
    print("\ntargets (ratios of median ops/s, measured side by side)")
    rows = [
        (
            v.target.label,
            f"{v.target.contender} / {v.target.baseline}",
            "" if v.ratio is None else f"{v.ratio:.2f}x",
            f">= {v.target.minimum:g}x",
            v.text,
        )
        for v in verdicts
    ]
    print_rows(("target", "ratio of", "measured", "required", "verdict"), rows, text=frozenset({0, 1, 4}))


@dataclass
class Cost:
    """The extra time per op of a feature, from rounds run back to back with and without it."""

    scenario: str
    feature: str
    client: str
    ops_with: float
    #: Per round: time per op with the feature / time per op without it - 1.
    per_round: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)

    @property
    def quartiles(self) -> tuple[float, float]:
        if len(self.per_round) < 2:
            return self.median, self.median
        low, _, high = statistics.quantiles(self.per_round, n=4, method="inclusive")
        return low, high


def costs(run: Run) -> list[Cost]:
    """Each feature's cost, paired round by round (rounds are interleaved, so a pair ran close in time)."""
    found = []
    for scenario, feature, client, without in COSTS:
        with_it, without_it = run.find(scenario, client), run.find(scenario, without)
        if with_it and without_it:
            pairs = [fast / slow - 1 for slow, fast in zip(with_it.rates, without_it.rates, strict=True)]
            found.append(Cost(scenario, feature, client, with_it.median, pairs))
    return found


def print_costs(run: Run) -> None:
    found = costs(run)
    if not found:
        return
    print(
        "\nthe cost of checks and transcripts: extra time per op, median of the rounds' pairs"
        "\n(strict checks: strict=True over the default strict=False, which checks the rules Starlette's client does)"
    )
    rows = [
        (
            c.scenario.removeprefix("checks-"),
            c.client,
            c.feature,
            f"{c.ops_with:,.0f}",
            f"{c.median:+.1%}",
            "{:+.1%} .. {:+.1%}".format(*c.quartiles),
        )
        for c in found
    ]
    print_rows(("scenario", "client", "feature", "ops/s with it", "cost", "quartiles"), rows, text=frozenset({0, 1, 2}))


def print_scale(fanouts: list[Fanout], soaks: list[Soak]) -> None:
    print("\nscale: many WebSockets on one client, one broadcast to all")
    rows = [
        (
            f.contender,
            f"{f.sockets:,}",
            f"{f.open_seconds:.3f}s",
            f"{f.broadcast_seconds:.3f}s",
            f"{f.close_seconds:.3f}s",
            f"{f.open_seconds / f.sockets * 1e6:,.0f}us",
        )
        for f in fanouts
    ]
    print_rows(("client", "sockets", "open all", "broadcast + receive all", "close all", "open per socket"), rows)
    for s in soaks:
        total = s.slice_size * len(s.rates)
        print(
            f"\nscale: {total:,} sequential GETs ({s.contender}), RSS {s.rss_before_kib / 1024:.1f} MiB before, "
            f"{s.rss_after_kib[-1] / 1024:.1f} MiB after; last slice / first slice = {s.rates[-1] / s.rates[0]:.2f}"
        )
        rows = [
            (f"{(i + 1) * s.slice_size:,}", f"{rate:,.0f}", f"{rss / 1024:.1f}")
            for i, (rate, rss) in enumerate(zip(s.rates, s.rss_after_kib, strict=True))
        ]
        print_rows(("after op", "ops/s", "RSS MiB"), rows)


def write_json(
    path: str, settings: Settings, run: Run, verdicts: list[Verdict], fanouts: list[Fanout], soaks: list[Soak]
) -> None:
    report = {
        "python": platform.python_version(),
        "packages": package_versions(),
        "settings": asdict(settings),
        "results": [{**asdict(r), "median": r.median} for r in run.results],
        "skipped": run.skipped,
        "targets": [{**asdict(v.target), "ratio": v.ratio, "verdict": v.text} for v in verdicts],
        "costs": [{**asdict(c), "extra_time_per_op": c.median} for c in costs(run)],
        "scale": {"websockets": [asdict(f) for f in fanouts], "gets": [asdict(s) for s in soaks]},
    }
    with open(path, "w") as file:
        json.dump(report, file, indent=2)
    print(f"wrote {path}", file=sys.stderr)


def write_chart(path: str, verdicts: list[Verdict]) -> None:
    """A horizontal bar per target: the measured ratio (log scale), the required one marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--chart: matplotlib is not installed, {path} not written", file=sys.stderr)
        return
    shown = [v for v in verdicts if v.ratio is not None]
    if not shown:
        print(f"--chart: no target was measured, {path} not written", file=sys.stderr)
        return
    ratios = [v.ratio or 0.0 for v in shown]
    minimums = [v.target.minimum for v in shown]
    rows = range(len(shown))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(shown) + 1.4))
    # Bars grow from 1x: right of it asgitest is faster than the baseline, left of it slower.
    widths = [ratio - 1.0 for ratio in ratios]
    colors = ["#2e7d32" if v.holds else "#c62828" for v in shown]
    ax.barh(rows, widths, left=1.0, color=colors, height=0.6)
    ax.scatter(ratios, rows, marker="o", s=16, color=colors, zorder=4)  # seen even at 1.00x
    ax.scatter(minimums, rows, marker="|", s=400, color="black", zorder=3)
    for row, ratio in zip(rows, ratios, strict=True):
        ax.annotate(
            f"{ratio:.2f}x", (max(ratio, 1.0), row), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8
        )
    ax.set_xscale("log")
    ax.set_xlim(min([*ratios, *minimums]) / 1.5, max([*ratios, *minimums]) * 2)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_yticks(list(rows), [f"{v.target.label} (>= {v.target.minimum:g}x)" for v in shown])
    ax.tick_params(labelsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speed vs the baseline (ratio of median ops/s, log scale)", fontsize=9)
    ax.set_title("asgitest vs its targets (|): green holds, red misses", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)

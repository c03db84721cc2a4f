"""The command line: its options (:func:`parse_args`) and :func:`main`, which runs and reports a benchmark."""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import __doc__ as overview
from .measure import Run, Settings, run_scenario
from .report import judge, print_costs, print_header, print_scale, print_table, print_verdicts, write_chart, write_json
from .scale import ScaleSettings, run_scale
from .scenarios import SCENARIOS, TARGETS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=overview.split("\n\n")[0] if overview else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few, short rounds, tiny scale (~30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per contender (default 7, quick 3)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in SCENARIOS],
        metavar="SCENARIO",
        help=f"run only these scenarios ({', '.join(s.name for s in SCENARIOS)}), and no scale unless --scale",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="run the scale scenarios (alone, unless --only names others; a default run includes them)",
    )
    parser.add_argument("--json", metavar="PATH", help="write every figure of the run to PATH as JSON")
    parser.add_argument("--chart", metavar="PATH", help="write a PNG of the target ratios to PATH (matplotlib)")
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="pin the process to this CPU (Linux): steadier sync numbers, as thread hand-offs stay on one core",
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread starts, so every thread inherits it
    if args.quick:
        settings = Settings(rounds=args.rounds or 3, round_seconds=0.05, warmup_seconds=0.05)
        scale = ScaleSettings(sockets=50, gets=2_000, slice_size=500)
    else:
        settings = Settings(rounds=args.rounds or 7, round_seconds=0.4, warmup_seconds=0.3)
        scale = ScaleSettings(sockets=1_000, gets=100_000, slice_size=10_000)
    print_header(settings)
    started = time.perf_counter()
    run = Run()
    for scenario in SCENARIOS:
        if (args.only and scenario.name not in args.only) or (args.scale and not args.only):
            continue
        print(f"running {scenario.name}: {scenario.description}", file=sys.stderr, flush=True)
        run_scenario(scenario, settings, run)
    fanouts, soaks = run_scale(scale) if args.scale or not args.only else ([], [])
    main_scenarios = [s.name for s in SCENARIOS if not s.name.startswith("checks-")]
    shown = [name for name in main_scenarios if any(r.scenario == name for r in run.results)]
    verdicts = [judge(target, run) for target in TARGETS if target.scenario in shown]
    if shown:
        print_table(run, shown)
        print_verdicts(verdicts)
    print_costs(run)
    if fanouts or soaks:
        print_scale(fanouts, soaks)
    print(f"\ntotal {time.perf_counter() - started:.1f}s")
    if args.json:
        write_json(args.json, settings, run, verdicts, fanouts, soaks)
    if args.chart:
        write_chart(args.chart, verdicts)

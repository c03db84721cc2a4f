"""The comparison of a suite's two runs, and its printed report."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .differences import Difference
from .pytest_runs import RunResult
from .requirements import InstallReport

__all__ = ["SuiteResult", "print_install", "print_suite", "print_times"]

INDENT = "  "


@dataclass
class SuiteResult:
    """Both runs of one suite."""

    name: str
    version: str
    baseline: RunResult
    asgitest: RunResult
    rerun: dict[str, RunResult] | None = None  # the regressions run again, by mode

    def unconfirmed(self, test: str) -> str | None:
        """Why the rerun does not confirm the regression ``test``; None if it does, or if there was no rerun."""
        if self.rerun is None:
            return None
        if test not in self.rerun["baseline"].passed:
            return "did not pass in the baseline either on rerun"
        if test in self.rerun["asgitest"].passed:
            return "passed with asgitest on rerun"
        return None

    @cached_property
    def regressions(self) -> list[str]:
        """Tests that passed with Starlette's client and did not with asgitest's."""
        return sorted(self.baseline.passed - self.asgitest.passed)

    @cached_property
    def fixed(self) -> list[str]:
        """Tests that did not pass with Starlette's client and did with asgitest's."""
        return sorted(self.asgitest.passed - self.baseline.passed)

    @property
    def kept(self) -> float:
        """The percentage of the baseline's passes that also pass with asgitest."""
        base = self.baseline.passed
        return 100.0 * len(base & self.asgitest.passed) / len(base) if base else 100.0

    def reason(self, test: str) -> str:
        """Why ``test`` did not pass with asgitest, in one line."""
        outcome = self.asgitest.outcomes.get(test)
        if outcome is not None:
            return outcome.detail or "did not pass"
        error = self.asgitest.collection_errors.get(test.split("::")[0])
        return f"not run: its file failed to collect: {error}" if error is not None else "not run"

    def stale(self, difference: Difference, full_run: bool) -> str | None:
        """Why a listed difference no longer regresses, or None if it does (or was not run)."""
        test = difference.test
        if test in self.regressions:
            return None
        if test in self.asgitest.passed:
            return "passes with asgitest"
        if test in self.baseline.outcomes:
            return f"does not pass in the baseline: {self.baseline.outcomes[test].detail}"
        return "not collected in this run" if full_run else None


def print_install(report: InstallReport) -> None:
    """What the install step did for one suite."""
    sources = ", ".join(report.sources) or "none found"
    print(f"{INDENT}test requirements: {report.requirements} from {sources}", flush=True)
    for label, items in (("kept installed, outside upstream's range", report.kept), ("pip changed", report.changed)):
        if items:
            print(f"{INDENT}{label}: {', '.join(items)}")
    for item in report.skipped:
        print(f"{INDENT}SKIPPED (not installable): {item}")


def _print_run(label: str, run: RunResult) -> None:
    """One run's line: passes, wall time and pytest's own summary."""
    print(f"{INDENT}{label:<9} {len(run.passed):>5} passed  {run.wall:7.1f} s  ({run.summary})")


def _print_regressions(result: SuiteResult, tests: list[str], differences: dict[tuple[str, str], Difference]) -> None:
    """One entry per regression: reviewed or not, the test id, why it failed (and why it is not confirmed)."""
    for test in tests:
        listed = differences.get((result.name, test))
        print(f"{INDENT * 2}{'reviewed' if listed else 'NEW':<8} {test}\n{INDENT * 2}{'':<8}   {result.reason(test)}")
        if listed is not None:
            print(f"{INDENT * 2}{'':<8}   reviewed: {listed.reason} ({listed.doc})")
        unconfirmed = result.unconfirmed(test)
        if unconfirmed is not None:
            print(f"{INDENT * 2}{'':<8}   not confirmed: {unconfirmed}")


def print_suite(result: SuiteResult, differences: dict[tuple[str, str], Difference], full_run: bool) -> int:
    """Print the report of one suite; return how many of its confirmed regressions are not reviewed."""
    print(f"\n{result.name} {result.version}")
    _print_run("baseline", result.baseline)
    _print_run("asgitest", result.asgitest)
    kept = len(result.baseline.passed & result.asgitest.passed)
    print(f"{INDENT}kept {result.kept:.1f} % of the baseline passes ({kept} of {len(result.baseline.passed)})")
    confirmed = [test for test in result.regressions if result.unconfirmed(test) is None]
    unconfirmed = [test for test in result.regressions if result.unconfirmed(test) is not None]
    unreviewed = [test for test in confirmed if (result.name, test) not in differences]
    print(f"{INDENT}regressions: {len(confirmed)} ({len(unreviewed)} not reviewed)")
    _print_regressions(result, confirmed, differences)
    if unconfirmed:
        print(
            f"{INDENT}regressions not confirmed on rerun (order or timing dependent; not counted): {len(unconfirmed)}"
        )
        _print_regressions(result, unconfirmed, differences)
    print(f"{INDENT}fixed (did not pass in the baseline, pass with asgitest): {len(result.fixed)}")
    for test in result.fixed:
        print(f"{INDENT * 2}{test}")
    for (suite, _), difference in sorted(differences.items()):
        why = result.stale(difference, full_run) if suite == result.name else None
        if why is not None:
            print(f"{INDENT}warning: stale difference {difference.test}: {why}")
    return len(unreviewed)


def print_times(results: list[SuiteResult]) -> None:
    """The wall times of every run."""
    print("\nwall times:")
    for result in results:
        line = (
            f"{INDENT}{result.name:<10} baseline {result.baseline.wall:6.1f} s   asgitest {result.asgitest.wall:6.1f} s"
        )
        if result.rerun is not None:
            line += f"   rerun {result.rerun['baseline'].wall + result.rerun['asgitest'].wall:5.1f} s"
        print(line)

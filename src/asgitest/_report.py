"""Diagnostics that fail nothing by default: kept here, for the report a user reads.

By default (``strict`` off) a client turns none of its diagnostics into a failure of
its own: a session or stream the test left open, an app cancelled after its grace
period, a send of the app on a connection a test closed earlier (the stale socket
that breaks a later test) are *findings*. Each is kept with the test that was running
when it happened; the pytest plugin prints them in its terminal summary, and
:func:`take` gives them to anyone else. With ``strict=True`` the same diagnostics are
warnings, raised where they happen.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = ["Finding", "current_test", "record", "set_current_test", "take"]


class Finding(NamedTuple):
    """One diagnostic: its kind (the warning class's name), its message, and the test running then."""

    kind: str
    message: str
    test: str | None


_findings: list[Finding] = []
_lock = threading.Lock()  # findings come from the test's thread and from loop threads
_current_test: str | None = None


def set_current_test(test: str | None) -> None:
    """Name the test now running (the pytest plugin does), for the findings made meanwhile."""
    global _current_test
    _current_test = test


def current_test() -> str | None:
    """The test now running, if the pytest plugin said which."""
    return _current_test


def record(category: type[Warning], message: str) -> None:
    """Keep a finding of ``category`` (a warning class) for the report."""
    with _lock:
        _findings.append(Finding(category.__name__, message, _current_test))


def take() -> list[Finding]:
    """The findings kept so far, oldest first; they are forgotten here."""
    global _findings
    with _lock:
        findings, _findings = _findings, []
    return findings

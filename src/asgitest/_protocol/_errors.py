"""The errors of the protocol core: the root of asgitest's exceptions, and a rule broken.

They live here, with the state machines that raise them, so that the core imports nothing
outside this package and the standard library; the package exports them as they are.
"""

from __future__ import annotations

__all__ = ["ASGIProtocolError", "ASGITestError"]


class ASGITestError(Exception):
    """Root of every exception asgitest raises."""


class ASGIProtocolError(ASGITestError, RuntimeError, AssertionError):
    """The app sent a message that the ASGI specification does not allow in that state.

    It is an ``AssertionError`` too, as Starlette's client raises one for the rules it
    checks (with its words in the message), so ``pytest.raises(AssertionError)`` matches.

    Attributes:
        rule: the id of the broken rule (see the table in ``asgitest._protocol._rules``),
            or None for a misuse that is not a rule of the spec.
    """

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule

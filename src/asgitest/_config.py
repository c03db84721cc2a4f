"""What a client was configured with, shared by its connections."""

from __future__ import annotations

import inspect
import itertools
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from ._protocol import SilentTranscript, Transcript
from ._types import ASGI2App, ASGI3App, ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_TIMEOUT",
    "SUITE_DEFAULT",
    "ClientConfig",
    "Defaults",
    "SuiteDefault",
    "as_asgi3",
    "check_seconds",
    "check_timeout",
    "offered_extensions",
    "set_suite_defaults",
    "suite_defaults",
]

#: Seconds any single wait may take unless the suite, the client or the call says otherwise:
#: long enough for what real suites wait for (a server-sent-events keep-alive every 15 s),
#: short enough that a hang ends with its message well before a CI job's own limit.
DEFAULT_TIMEOUT = 30.0
#: Seconds an app gets to finish after a disconnect before it is cancelled.
DEFAULT_GRACE_PERIOD = 1.0

#: The environment variables that set the suite's defaults without the pytest plugin.
ENVIRONMENT = {"timeout": "ASGITEST_TIMEOUT", "grace_period": "ASGITEST_GRACE_PERIOD", "strict": "ASGITEST_STRICT"}


class SuiteDefault:
    """The type of :data:`SUITE_DEFAULT`."""

    def __repr__(self) -> str:
        return "SUITE_DEFAULT"


#: A client argument left to the suite's default (see :func:`suite_defaults`).
SUITE_DEFAULT: Final = SuiteDefault()


@dataclass(frozen=True)
class Defaults:
    """What a client uses for an argument it was not given."""

    timeout: float | None = DEFAULT_TIMEOUT
    grace_period: float = DEFAULT_GRACE_PERIOD
    strict: bool = False


_suite: Defaults | None = None  # set by the pytest plugin's options


def set_suite_defaults(defaults: Defaults | None) -> Defaults | None:
    """Make ``defaults`` every new client's (the pytest plugin does, from its options); None
    returns to the environment's. Returns the defaults set before."""
    global _suite
    previous, _suite = _suite, defaults
    return previous


def suite_defaults() -> Defaults:
    """The defaults in force: the pytest plugin's options, else the environment variables
    (``ASGITEST_TIMEOUT``, ``ASGITEST_GRACE_PERIOD``, ``ASGITEST_STRICT``), else the built-in ones."""
    return _suite if _suite is not None else from_environment()


def from_environment(environ: Mapping[str, str] = os.environ) -> Defaults:
    """The built-in defaults, with what the environment variables set instead."""
    builtin = Defaults()
    timeout, grace, strict = (environ.get(name, "").strip() for name in ENVIRONMENT.values())
    return Defaults(
        timeout=builtin.timeout if not timeout else parse_timeout(timeout, ENVIRONMENT["timeout"]),
        grace_period=builtin.grace_period if not grace else parse_seconds(grace, ENVIRONMENT["grace_period"]),
        strict=builtin.strict if not strict else parse_bool(strict, ENVIRONMENT["strict"]),
    )


def parse_timeout(text: str, source: str) -> float | None:
    """A timeout given as text: seconds, or "none" for no bound."""
    return None if text.lower() == "none" else parse_seconds(text, source)


def parse_seconds(text: str, source: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{source} must be a number of seconds, not {text!r}") from None
    return check_seconds(seconds, source)


def parse_bool(text: str, source: str) -> bool:
    value = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    try:
        return value[text.lower()]
    except KeyError:
        raise ValueError(f"{source} must be true or false (1/0, yes/no, on/off), not {text!r}") from None


def check_timeout(value: object, source: str) -> float | None:
    """``value`` as a bound of a wait: None (or infinity) for none, else :func:`check_seconds`."""
    if value is None or (isinstance(value, float) and math.isinf(value) and value > 0):
        return None
    return check_seconds(value, source)


def check_seconds(value: object, source: str) -> float:
    """``value`` as seconds to wait: a finite number, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{source} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{source} must be a finite number of seconds, 0 or more, not {value!r}")
    return float(value)


def check_window(value: object, source: str) -> float:
    """``value`` as a window of time to watch: a finite number of seconds, more than 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{source} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{source} must be a finite number of seconds, more than 0, not {value!r}")
    return float(value)


#: The extensions a scope offers unless the client says otherwise: Starlette's TestClient's
#: (uvicorn, in its default HTTP/1.1 mode, offers none of its own), so that the app takes the
#: code path it takes in production.
DEFAULT_EXTENSIONS: Final[Mapping[str, Mapping[str, Any]]] = {
    "http.response.debug": {},
    "http.response.trailers": {},
    "websocket.http.response": {},
}

#: Every extension a client can offer: those whose messages it handles, and ``tls``, which
#: only informs the app (its value is what the scope says of the connection).
KNOWN_EXTENSIONS: Final = frozenset(
    {
        *DEFAULT_EXTENSIONS,
        "http.response.early_hint",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.push",
        "tls",
    }
)


def offered_extensions(extensions: object) -> dict[str, dict[str, Any]]:
    """The extensions a client offers: :data:`DEFAULT_EXTENSIONS` with ``extensions`` merged
    over them (a value of None withholds one)."""
    if extensions is None:
        extensions = {}
    if not isinstance(extensions, Mapping):
        raise TypeError(f"extensions is a dict of extension names to dicts (or None), not {extensions!r:.60}")
    offered = {name: dict(value) for name, value in DEFAULT_EXTENSIONS.items()}
    for name, value in extensions.items():
        if name not in KNOWN_EXTENSIONS:
            known = ", ".join(sorted(KNOWN_EXTENSIONS))
            raise ValueError(f"asgitest does not implement the extension {name!r}; it offers {known}")
        if value is None:
            offered.pop(name, None)
        elif isinstance(value, Mapping):
            offered[name] = dict(value)
        else:
            raise TypeError(f"the value of the extension {name!r} is a dict, or None to withhold it, not {value!r:.60}")
    return offered


_client_numbers = itertools.count(1)


@dataclass(eq=False)
class ClientConfig:
    """The settings every connection of one client reads."""

    app: ASGI3App
    raise_server_exceptions: bool
    root_path: str
    client: tuple[str, int]
    timeout: float | None
    grace_period: float
    #: Whether a response body ends only once the app coroutine has returned (Starlette's way).
    wait_for_app: bool = True
    #: Whether every check is an error or a warning (see the clients' ``strict``).
    strict: bool = False
    #: Whether each connection keeps its last ASGI events for error messages.
    transcripts: bool = True
    app_state: dict[str, Any] = field(default_factory=dict)
    number: int = field(default_factory=lambda: next(_client_numbers))
    #: The extensions the scopes offer (see :func:`offered_extensions`).
    extensions: dict[str, dict[str, Any]] = field(default_factory=lambda: offered_extensions(None))
    #: The clock of the client's transcripts: the monotonic one, or a sync client's virtual clock.
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        #: The names offered to an http scope, and to a websocket scope.
        self.http_extensions = frozenset(name for name in self.extensions if not name.startswith("websocket."))
        self.websocket_extensions = frozenset(
            name for name in self.extensions if name.startswith("websocket.") or name == "tls"
        )

    def scope_extensions(self, names: frozenset[str]) -> dict[str, dict[str, Any]]:
        """The ``extensions`` of a new scope: each of ``names``, with a copy of its value."""
        extensions = self.extensions
        return {name: dict(extensions[name]) for name in names}

    def transcript(self, where: str) -> Transcript:
        """A new connection's transcript: recording, unless the client was made without."""
        return Transcript(where, self.clock) if self.transcripts else SilentTranscript(where, self.clock)

    @property
    def label(self) -> str:
        """How messages name this client."""
        host, port = self.client
        return f"test client #{self.number} ({host}:{port})"


def as_asgi3(app: ASGIApp) -> ASGI3App:
    """Return ``app`` itself if it is an ASGI 3 callable, else an ASGI 3 wrapper of the ASGI 2 app.

    Raises:
        TypeError: ``app`` is no ASGI app (not callable, or a plain function of three arguments:
            an ASGI 3 app is ``async``).
    """
    if not callable(app):
        raise TypeError(f"app must be an ASGI application (an async callable of scope, receive, send), not {app!r}")
    if _is_asgi3(app):
        return cast(ASGI3App, app)
    if _is_plain_function_of_three(app):
        raise TypeError(f"app {app!r} is a plain function of (scope, receive, send): an ASGI app is `async def`")
    legacy = cast(ASGI2App, app)

    async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
        instance = legacy(scope)
        await instance(receive, send)

    return asgi3


def _is_plain_function_of_three(app: object) -> bool:
    """Whether ``app`` is a sync function that takes three positional arguments (no ASGI 2 app,
    which takes the scope alone)."""
    if not (inspect.isfunction(app) or inspect.ismethod(app)):
        return False
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def _is_asgi3(app: object) -> bool:
    if inspect.isclass(app):
        # A class is an ASGI 2 app (instantiated per scope) unless instances are awaitable.
        return hasattr(app, "__await__")
    while hasattr(app, "func") and not inspect.iscoroutinefunction(app):  # functools.partial
        app = app.func
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the method itself
    return inspect.iscoroutinefunction(call)

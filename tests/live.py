"""Why a client-level test stays in-process in a live run (``pytest --asgi-live``): one marker per reason.

Each is a difference between in-process and live behaviour; the tests marked with
it show the in-process side, and ``tests/test_live.py`` shows the live side.
"""

import pytest


def _because(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.asgi_in_process(reason=reason)


WAIT = _because(
    "asserts what the app did by the time a client call returns; in-process calls wait for the app, "
    "a server's clients cannot"
)
TIMEOUT = _because(
    "bounded waits, grace periods and cancelling the app are the in-process client's; a server has its own"
)
CHECK = _because(
    "asserts what only the in-process client has: transcripts in messages, buffers, leak warnings, findings, "
    "or an error raised at the exact call (live, the server's checks raise at the call that saw its 500)"
)
RAISE = _because(
    "the app's exception reaches the test at the call that observes it; live, the server answers 500 "
    "and it is re-raised when the server stops"
)
SCOPE = _because("asserts the exact scope or request messages asgitest builds; uvicorn builds and splits its own")
LIFESPAN = _because("the in-process lifespan follows the client's with block; a server runs it once, when it starts")
LOOP = _because("asserts that the app runs on the test's own loop; a server runs it on its own")
DENIAL = _because("httpx2 closes a refused handshake's response before raising, so a live denial has no body")
SERVER = _because(
    "what a server answers here is the server's choice (uvicorn: HTTP 403 or 500, close 1000); "
    "asgitest answers as documented"
)
BACKGROUND = _because(
    "wait_for_app and wait_idle see the app's tasks in-process; a server runs background work on its own"
)
EXTENSIONS = _because(
    "the extensions a scope offers are the in-process client's choice (extensions=); uvicorn offers its own"
)

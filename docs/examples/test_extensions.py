"""ASGI extensions: early hints, a file sent by path, recorded on the response."""

# --8<-- [start:app]
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from asgitest import TestClient

STYLE = b"</style.css>; rel=preload; as=style"


async def page(scope, receive, send):
    # What Starlette's request.send_early_hints() (Starlette 1.8+) does: a hint only where offered.
    if "http.response.early_hint" in scope["extensions"]:
        await send({"type": "http.response.early_hint", "links": [STYLE]})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<link rel=stylesheet href=/style.css><h1>hi</h1>"})


async def report(request: Request) -> FileResponse:
    return FileResponse(request.app.state.report)  # sent with http.response.pathsend where offered


def create_app(report_path: Path) -> Starlette:
    app = Starlette(routes=[Route("/report", report)])
    app.state.report = report_path
    return app


# --8<-- [end:app]


# --8<-- [start:test]
def test_the_page_hints_its_stylesheet_early():
    with TestClient(page, extensions={"http.response.early_hint": {}}) as client:
        response = client.get("/")
        assert response.extensions["http.response.early_hint"] == [[STYLE]]

    with TestClient(page) as client:  # by default, as under uvicorn's HTTP/1.1: no hints
        assert "http.response.early_hint" not in client.get("/").extensions


def test_the_report_is_sent_by_path(tmp_path):
    (tmp_path / "report.csv").write_text("day,visits\nmon,3\n")
    app = create_app(tmp_path / "report.csv")
    with TestClient(app, extensions={"http.response.pathsend": {}}) as client:
        response = client.get("/report")
        assert response.text == "day,visits\nmon,3\n"


# --8<-- [end:test]

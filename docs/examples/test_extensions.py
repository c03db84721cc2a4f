"""ASGI extensions: early hints, a file sent by path, recorded on the response."""

# --8<-- [start:app]
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route

from asgitest import TestClient

STYLE = "</style.css>; rel=preload; as=style"


async def page(request: Request) -> HTMLResponse:
    await request.send_early_hints(STYLE)  # does nothing unless the server offers early hints
    return HTMLResponse("<link rel=stylesheet href=/style.css><h1>hi</h1>")


async def report(request: Request) -> FileResponse:
    return FileResponse(request.app.state.report)  # sent with http.response.pathsend where offered


def create_app(report_path: Path) -> Starlette:
    app = Starlette(routes=[Route("/", page), Route("/report", report)])
    app.state.report = report_path
    return app


# --8<-- [end:app]


# --8<-- [start:test]
def test_the_page_hints_its_stylesheet_early(tmp_path):
    app = create_app(tmp_path / "report.csv")
    with TestClient(app, extensions={"http.response.early_hint": {}}) as client:
        response = client.get("/")
        assert response.extensions["http.response.early_hint"] == [[STYLE.encode()]]

    with TestClient(app) as client:  # by default, as under uvicorn's HTTP/1.1: no hints
        assert "http.response.early_hint" not in client.get("/").extensions


def test_the_report_is_sent_by_path(tmp_path):
    (tmp_path / "report.csv").write_text("day,visits\nmon,3\n")
    app = create_app(tmp_path / "report.csv")
    with TestClient(app, extensions={"http.response.pathsend": {}}) as client:
        response = client.get("/report")
        assert response.text == "day,visits\nmon,3\n"


# --8<-- [end:test]

"""The direct route (idp.web.protocol): exact and one-segment paths answered before the framework,
with the framework's answers kept for everything else (404 pages, 405 for other methods) and errors
turned into the same pages and JSON bodies as the framework's handlers give."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse, Response

from idp.errors import OAuthError, PageError
from idp.settings import Settings
from idp.web.middleware import install, wrap_stack
from idp.web.protocol import ProtocolEndpoints, _Template


async def show(request: Request) -> Response:
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def expired(request: Request) -> Response:
    raise PageError("session_expired")


async def refused(request: Request) -> Response:
    raise OAuthError("invalid_grant", "the code was used", status_code=400)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings

    @app.get("/item/{item_id}/view")  # the framework's route stays for the methods not routed directly
    def framework_view(item_id: str) -> Response:
        return PlainTextResponse("framework")

    routes = {("GET", "/item/{item_id}/view"): show, ("GET", "/gone"): expired, ("POST", "/grant"): refused}
    wrap_stack(app, lambda inner: ProtocolEndpoints(inner, routes=routes))
    install(app, settings)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


def test_a_one_segment_route_gets_its_value(client: TestClient) -> None:
    response = client.get("/item/ab-12_x/view")
    assert response.status_code == 200 and response.text == "item ab-12_x"
    assert response.headers["x-frame-options"] == "DENY"  # still inside the security layer


@pytest.mark.parametrize("path", ["/item//view", "/item/a/b/view", "/item/a/viewer", "/items/a/view", "/item/a"])
def test_paths_that_do_not_match_go_to_the_framework(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and "Không tìm thấy trang" in response.text


def test_other_methods_get_the_framework_answer(client: TestClient) -> None:
    assert client.put("/item/a/view").status_code == 405
    assert client.post("/gone").status_code == 404  # routed for GET only, and the framework has no /gone


def test_errors_become_the_page_or_the_oauth_body(client: TestClient) -> None:
    page = client.get("/gone")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "Phiên làm việc đã hết hạn" in page.text and "Traceback" not in page.text
    oauth = client.post("/grant")
    assert oauth.status_code == 400
    assert oauth.json() == {"error": "invalid_grant", "error_description": "the code was used"}


@pytest.mark.parametrize("template", ["/a/{x}{y}", "/a{x}/b", "/a/{x}b", "/a/{x}/{y}"])
def test_a_template_takes_one_whole_segment(template: str) -> None:
    with pytest.raises(ValueError, match="one whole"):
        _Template(template)

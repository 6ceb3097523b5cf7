"""Security headers on every response; errors answered without stack traces, in the right format."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from idp.settings import Settings
from idp.web.context import audit_context
from idp.web.headers import content_security_policy, form_target_source
from idp.web.middleware import install

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize("path", ["/page/login.html", "/static/idp.css", "/boom", "/token/boom", "/nowhere",
                                  "/page-error", "/userinfo", "/form-post"])
def test_every_response_has_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (path, name)
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self'"):
        assert directive in csp
    assert response.headers["x-request-id"]
    assert "strict-transport-security" not in response.headers  # http loopback issuer


def test_request_id_is_echoed_when_well_formed(client: TestClient) -> None:
    echoed = client.get("/page/login.html", headers={"X-Request-ID": "lb-123.abc"})
    assert echoed.headers["x-request-id"] == "lb-123.abc"
    replaced = client.get("/page/login.html", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    another = client.get("/page/login.html").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", replaced) and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", another)
    assert another != replaced  # each request its own id


def test_unhandled_exception_on_a_page_hides_the_stack_trace(client: TestClient,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="idp.web"):
        response = client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Đã có lỗi xảy ra" in response.text and "req-42" in response.text
    for leak in ("Traceback", "RuntimeError", "secret-internal-detail", "/etc/passwd", ".py"):
        assert leak not in response.text
    assert any("req-42" in r.getMessage() for r in caplog.records)  # operators get the trace in the log


def test_unhandled_exception_on_an_api_route_is_json(client: TestClient) -> None:
    response = client.get("/token/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}


def test_oauth_error_401_carries_www_authenticate(client: TestClient) -> None:
    response = client.post("/token")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"
    bearer = client.get("/userinfo", headers={"Authorization": "Bearer abc"})
    assert bearer.status_code == 401 and bearer.json() == {"error": "invalid_token"}
    assert bearer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_page_error_becomes_an_error_page(client: TestClient) -> None:
    response = client.get("/page-error", params={"ui_locales": "en"})
    assert response.status_code == 400
    assert "Invalid return address" in response.text


def test_not_found_page_and_api(client: TestClient) -> None:
    page = client.get("/nowhere")
    assert page.status_code == 404 and "Không tìm thấy trang" in page.text
    api = client.get("/token/nothing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_bad_parameter_is_invalid_request(client: TestClient) -> None:
    response = client.get("/needs-int", params={"n": "x"})
    assert response.status_code == 400 and "Yêu cầu không hợp lệ" in response.text


@pytest.mark.parametrize(("uri", "source"), [
    ("https://rp.example.vn/cb?x=1", "https://rp.example.vn"),
    ("http://127.0.0.1:9000/cb", "http://127.0.0.1:9000"),
    ("HTTPS://RP.Example.VN:8443/cb", "https://rp.example.vn:8443"),
    ("com.example.app:/oauth2redirect", "com.example.app:"),
    ("javascript:alert(1)", None),
    ("data:text/html,x", None),
    ("https://a.example; script-src *", None),
    ("https://user@a.example/", None),
    ("not a uri", None),
])
def test_form_target_source(uri: str, source: str | None) -> None:
    assert form_target_source(uri) == source


def test_csp_form_action_lists_each_target_once() -> None:
    csp = content_security_policy(form_targets=["https://a.example/cb", "https://a.example/other", "bad uri"])
    assert "form-action 'self' https://a.example;" in csp
    assert "script-src" not in csp


def test_audit_context_of_a_request(tmp_path: object) -> None:
    # The test client connects as "testclient" (not an address): a proxy only when listed, which
    # it cannot be; the header is read from a listed proxy only (tests/functional/test_trusted_proxies.py).
    for proxies, expected in (([], "testclient"), (["203.0.113.0/24"], "testclient")):
        settings = Settings(data_dir=tmp_path, trusted_proxies=proxies)
        app = FastAPI()
        app.state.settings = settings
        install(app, settings)

        @app.get("/ctx")
        def ctx(request: Request) -> dict[str, str | None]:
            context = audit_context(request)
            return {"ip": context.ip, "request_id": context.request_id, "user_agent": context.user_agent}

        with TestClient(app) as client:
            body = client.get("/ctx", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "X-Request-ID": "r-1",
                                               "User-Agent": "Chromium"}).json()
        assert body == {"ip": expected, "request_id": "r-1", "user_agent": "Chromium"}


def test_direct_protocol_routes_answer_errors_like_the_framework(tmp_path: object,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from idp.errors import OAuthError
    from idp.web.middleware import wrap_stack
    from idp.web.protocol import ProtocolEndpoints

    async def refused(request: Request) -> None:
        raise OAuthError("invalid_client", "client authentication failed", status_code=401)

    async def broken(request: Request) -> None:
        raise RuntimeError("secret-internal-detail")

    settings = Settings(data_dir=tmp_path)
    app = FastAPI()
    app.state.settings = settings
    routes = {("POST", "/token"): refused, ("POST", "/introspect"): broken}
    wrap_stack(app, lambda inner: ProtocolEndpoints(inner, routes=routes))
    install(app, settings)
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="idp.web"):
        refusal = client.post("/token")
        failure = client.post("/introspect", headers={"X-Request-ID": "req-7"})
        elsewhere = client.get("/token")  # not a direct route: the framework's 404, still with headers
    assert refusal.status_code == 401 and refusal.json()["error"] == "invalid_client"
    assert refusal.headers["www-authenticate"].startswith("Basic") and refusal.headers["x-frame-options"] == "DENY"
    assert failure.status_code == 500 and failure.json() == {"error": "server_error"}
    assert "secret-internal-detail" not in failure.text and failure.headers["x-request-id"] == "req-7"
    assert any("req-7" in r.getMessage() for r in caplog.records)
    assert elsewhere.status_code == 404 and elsewhere.headers["x-content-type-options"] == "nosniff"

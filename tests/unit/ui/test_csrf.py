"""CSRF: a form post passes only with this browser's token, from this provider."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from idp.settings import Settings
from tests.unit.ui.conftest import build_app


def _token(client: TestClient) -> str:
    html = client.get("/page/consent.html").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_token_from_the_page_is_accepted(client: TestClient) -> None:
    token = _token(client)
    assert "idp_csrf" in client.cookies
    response = client.post("/submit", data={"csrf_token": token})
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_tokens_differ_per_page_but_all_work(client: TestClient) -> None:
    first, second = _token(client), _token(client)
    assert first != second
    assert client.post("/submit", data={"csrf_token": first}).status_code == 200
    assert client.post("/submit", data={"csrf_token": second}).status_code == 200


@pytest.mark.parametrize("data", [{}, {"csrf_token": ""}, {"csrf_token": "abc"}, {"csrf_token": "A" * 86}])
def test_missing_or_wrong_token_is_refused(client: TestClient, data: dict[str, str]) -> None:
    _token(client)
    response = client.post("/submit", data=data)
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hiệu lực" in response.text


def test_token_of_another_browser_is_refused(ui_settings: Settings) -> None:
    app = build_app(ui_settings)
    with TestClient(app) as victim, TestClient(app) as attacker:
        attacker_token = _token(attacker)
        _token(victim)
        assert victim.post("/submit", data={"csrf_token": attacker_token}).status_code == 400


def test_post_without_cookie_is_refused(client: TestClient) -> None:
    token = _token(client)
    client.cookies.clear()
    assert client.post("/submit", data={"csrf_token": token}).status_code == 400


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://testserver", "Sec-Fetch-Site": "same-site"}])
def test_cross_site_post_is_refused_even_with_token(client: TestClient, headers: dict[str, str]) -> None:
    token = _token(client)
    assert client.post("/submit", data={"csrf_token": token}, headers=headers).status_code == 400


@pytest.mark.parametrize("headers", [{"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                                     # What Chromium sends for our forms under Referrer-Policy: no-referrer:
                                     {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, {"Origin": "null"}])
def test_same_origin_post_is_accepted(client: TestClient, headers: dict[str, str]) -> None:
    token = _token(client)
    assert client.post("/submit", data={"csrf_token": token}, headers=headers).status_code == 200


def test_cookie_attributes_on_https(tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path, issuer="https://id.example.gov.vn", ui_strict_messages=True)
    with TestClient(build_app(settings), base_url="https://id.example.gov.vn") as client:
        response = client.get("/page/consent.html")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-idp_csrf=")
        assert "Path=/" in cookie and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Domain" not in cookie
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)  # type: ignore[union-attr]
        ok = client.post("/submit", data={"csrf_token": token}, headers={"Origin": "https://id.example.gov.vn"})
        assert ok.status_code == 200


def test_cookie_is_set_once(client: TestClient) -> None:
    first = client.get("/page/consent.html")
    assert first.headers.get_list("set-cookie") and len(
        [c for c in first.headers.get_list("set-cookie") if c.startswith("idp_csrf=")]) == 1
    again = client.get("/page/consent.html")
    assert not any(c.startswith("idp_csrf=") for c in again.headers.get_list("set-cookie"))

"""Every bad input of the OIDC core gets the right error and nothing is issued (RFC 6749 §4.1.2.1,
§5.2; RFC 6750 §3; OIDC Core §3.1.2.6), on a running server, on both backends."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, sign_in
from tests.functional.oidc_fixtures import PASSWORD, SECRET2, Deployment
from tests.functional.test_oidc_code_flow import redeem, token_request


@pytest.fixture
def signed_in(deployment: Deployment):
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    params = sign_in(browser, run, "canbo01", PASSWORD)
    yield browser, run, params["code"]
    browser.close()


def test_reused_code_is_refused_and_revokes_what_it_issued(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    first = redeem(deployment, run, code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    second = redeem(deployment, run, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    after = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert after.status_code == 401 and 'error="invalid_token"' in after.headers["www-authenticate"]


def test_after_a_refresh_token_reuse_the_session_gives_the_client_a_working_grant(deployment: Deployment) -> None:
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid offline_access")
    first = redeem(deployment, run, sign_in(browser, run, "canbo01", PASSWORD)["code"]).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert token_request(deployment, refresh).status_code == 200
    reused = token_request(deployment, refresh)  # a stolen copy: the whole grant is revoked
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    again = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid offline_access")
    params = sign_in(browser, again, "canbo01", "not typed: the SSO session answers")
    tokens = redeem(deployment, again, params["code"]).json()
    userinfo = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 200
    rotated = token_request(deployment, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    browser.close()


def test_a_code_issued_before_its_grant_was_revoked_gives_no_tokens(deployment: Deployment) -> None:
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid offline_access")
    first = redeem(deployment, run, sign_in(browser, run, "canbo01", PASSWORD)["code"]).json()
    later = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid offline_access")
    pending_code = sign_in(browser, later, "canbo01", "not typed: the SSO session answers")["code"]
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert token_request(deployment, refresh).status_code == 200
    assert token_request(deployment, refresh).status_code == 400  # reuse: the grant is revoked
    response = redeem(deployment, later, pending_code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    browser.close()


def test_wrong_pkce_verifier(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    response = redeem(deployment, run, code, code_verifier="x" * 50)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_missing_pkce_verifier(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri}
    response = token_request(deployment, data)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_mismatched_redirect_uri_at_token(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    response = redeem(deployment, run, code, redirect_uri="http://127.0.0.1:9/portal/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_another_clients_code(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier}
    response = token_request(deployment, data, auth=("motcua", SECRET2))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_wrong_client_secret(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier}
    response = token_request(deployment, data, auth=("portal", "wrong-secret"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    # The code survives a failed client authentication: the real client still redeems it.
    assert redeem(deployment, run, code).status_code == 200


def test_get_to_token_endpoint(deployment: Deployment) -> None:
    response = httpx.get(deployment.base + "/token", params={"grant_type": "client_credentials"})
    assert response.status_code == 405 and response.json()["error"] == "invalid_request"


def test_unsupported_grant_type(deployment: Deployment) -> None:
    response = token_request(deployment, {"grant_type": "password", "username": "a", "password": "b"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def authorize(deployment: Deployment, **changes: str | None) -> httpx.Response:
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    params = {k: v for k, v in {**run.params(), **changes}.items() if v is not None}
    return httpx.get(deployment.base + "/authorize", params=params)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
)
def test_bad_authorization_requests_go_back_with_state_and_iss(deployment: Deployment, changes: dict,
                                                               error: str) -> None:
    response = authorize(deployment, state="xyz", **changes)
    assert response.status_code == 302
    params = callback_params(response)
    assert params["error"] == error and params["state"] == "xyz" and params["iss"] == deployment.base
    assert "code" not in params


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "nobody"}, {"redirect_uri": "http://127.0.0.1:9/portal/cb/extra"},
     {"redirect_uri": "https://evil.example/cb"}, {"redirect_uri": None}, {"client_id": None}],
)
def test_unknown_client_or_redirect_uri_is_a_page_never_a_redirect(deployment: Deployment,
                                                                   changes: dict) -> None:
    response = authorize(deployment, **changes)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text


def test_unsigned_request_object_is_refused(deployment: Deployment) -> None:
    """JAR (RFC 9101): an ``alg: none`` request object cannot be trusted, so nothing in it is used —
    not even its redirect URI: a page, never a code."""
    response = authorize(deployment, request="eyJhbGciOiJub25lIn0.e30.")
    assert "code=" not in response.headers.get("location", "")
    if response.status_code == 302:
        assert callback_params(response)["error"] == "invalid_request_object"
    else:
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")


def test_prompt_none_without_session(deployment: Deployment) -> None:
    response = authorize(deployment, prompt="none", state="st8")
    params = callback_params(response)
    assert params["error"] == "login_required" and params["state"] == "st8" and params["iss"] == deployment.base
    assert "code" not in params


def forged_token(deployment: Deployment, access: str) -> str:
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_forged_and_expired_access_tokens_at_userinfo(deployment: Deployment, signed_in) -> None:
    _, run, code = signed_in
    access = redeem(deployment, run, code).json()["access_token"]
    for bad in (forged_token(deployment, access), "not-a-jwt", access[:-4] + "AAAA",
                "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0."):
        response = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    missing = httpx.get(deployment.base + "/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")


def test_logout_with_hint_ends_the_session_everywhere(deployment: Deployment, signed_in) -> None:
    browser, run, code = signed_in
    tokens = redeem(deployment, run, code).json()
    response = browser.http.get("/logout", params={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/portal/bye",
        "state": "bye1"})
    assert response.status_code == 303
    assert response.headers["location"] == "http://127.0.0.1:9/portal/bye?state=bye1"
    revoked = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert revoked.status_code == 401
    again = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"prompt": "none"})
    silent = browser.http.get("/authorize", params=again.params())
    assert callback_params(silent)["error"] == "login_required"


def test_logout_to_unregistered_uri_is_refused(deployment: Deployment, signed_in) -> None:
    browser, run, code = signed_in
    tokens = redeem(deployment, run, code).json()
    response = browser.http.get("/logout", params={"id_token_hint": tokens["id_token"],
                                                   "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 400 and "location" not in response.headers


def test_logout_without_hint_asks_first(deployment: Deployment, signed_in) -> None:
    browser, _, _ = signed_in
    page = browser.http.get("/logout")
    assert page.status_code == 200 and 'name="decision"' in page.text
    done = browser.submit(page, {"decision": "logout"})
    assert done.status_code == 200
    again = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"prompt": "none"})
    assert callback_params(browser.http.get("/authorize", params=again.params()))["error"] == "login_required"


def test_wrong_password_page_does_not_say_which(deployment: Deployment) -> None:
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    wrong = browser.submit(page, {"username": "canbo01", "password": "sai mật khẩu rồi nhé bạn"})
    unknown = browser.submit(page, {"username": "khongtontai", "password": "sai mật khẩu rồi nhé bạn"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in wrong.text
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in unknown.text
    missing_csrf = browser.http.post(str(page.request.url), data={"username": "canbo01", "password": PASSWORD,
                                                                  "adapter": "local"})
    assert missing_csrf.status_code == 400 and "location" not in missing_csrf.headers
    browser.close()


def test_security_headers_on_pages(deployment: Deployment) -> None:
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"].startswith("no-store")
    cookie = next(c for c in page.headers.get_list("set-cookie") if "csrf" in c.lower())
    assert "httponly" in cookie.lower()
    browser.close()

"""Token requests a relying party gets wrong are answered as RFC 6749 says (no ``grant_type``:
``invalid_request``, §5.2; two ways of authenticating the client at once: ``invalid_request``,
§2.3), and every page a person sees isolates its window from other origins
(``Cross-Origin-Opener-Policy: same-origin``). Against a running ``idp serve`` on both backends."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, sign_in
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
M2M_SECRET = "m2m-secret-0123456789-0123456789-0123"


def post(deployment: Deployment, path: str, data: dict[str, str], auth: tuple[str, str] | None = None
         ) -> httpx.Response:
    return httpx.post(deployment.base + path, data=data, auth=auth, timeout=30)


@pytest.mark.parametrize("form", [{"grant_type": ""}, {"scope": "openid"}])
def test_a_token_request_without_grant_type_is_invalid_request(deployment: Deployment, form: dict) -> None:
    response = post(deployment, "/token", form, auth=("m2m", M2M_SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "grant_type" in response.json()["error_description"]


@pytest.mark.parametrize("extra", [
    {"client_secret": M2M_SECRET},  # Basic and client_secret_post
    {"client_id": "m2m", "client_secret": M2M_SECRET},
    {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "eyJhbGciOiJub25lIn0.e30."},
])
@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_a_client_authenticating_twice_is_refused(deployment: Deployment, extra: dict, path: str) -> None:
    form = {"grant_type": "client_credentials"} if path == "/token" else {"token": "not-a-token"}
    assert post(deployment, path, form, auth=("m2m", M2M_SECRET)).status_code == 200  # one method: fine
    response = post(deployment, path, {**form, **extra}, auth=("m2m", M2M_SECRET))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "access_token" not in response.json()


def test_a_secret_and_an_assertion_in_the_body_are_refused(deployment: Deployment) -> None:
    response = post(deployment, "/token", {"grant_type": "client_credentials", "client_id": "m2m",
                                           "client_secret": M2M_SECRET, "client_assertion_type": ASSERTION_TYPE,
                                           "client_assertion": "eyJhbGciOiJub25lIn0.e30."})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_login_page_and_the_logout_confirmation_keep_other_windows_out(deployment: Deployment) -> None:
    browser = Browser(deployment.base)
    try:
        run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
        login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
        assert login.status_code == 200 and 'name="password"' in login.text
        assert login.headers["cross-origin-opener-policy"] == "same-origin"
        sign_in(browser, run, "canbo01", PASSWORD)
        confirm = browser.http.get("/logout", params={"client_id": "portal"})
        assert confirm.status_code == 200 and 'name="decision"' in confirm.text
        assert confirm.headers["cross-origin-opener-policy"] == "same-origin"
        error = browser.http.get("/logout", params={"client_id": "no-such-client"})
        assert error.status_code >= 400 and error.headers["cross-origin-opener-policy"] == "same-origin"
    finally:
        browser.close()


def test_the_secret_client_still_gets_tokens(deployment: Deployment) -> None:
    """The refusals above leave one-method requests alone (Basic with client_id in the body too)."""
    response = post(deployment, "/token", {"grant_type": "client_credentials", "client_id": "m2m"},
                    auth=("m2m", M2M_SECRET))
    assert response.status_code == 200 and response.json()["token_type"].lower() == "bearer"
    introspected = post(deployment, "/introspect", {"token": response.json()["access_token"]},
                        auth=("portal", SECRET))
    assert introspected.status_code == 200

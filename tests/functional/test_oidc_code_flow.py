"""The authorization code flow with PKCE against a running ``idp serve``, on both backends,
driven only over HTTP; ID tokens verified independently with python-jose."""

from __future__ import annotations

import httpx
import pytest
import redis
from jose import jwt as jose_jwt

from tests.functional.browser_client import AuthorizationRun, Browser, forms, sign_in
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment


def token_request(dep: Deployment, data: dict[str, str], auth: tuple[str, str] | None = ("portal", SECRET)
                  ) -> httpx.Response:
    return httpx.post(dep.base + "/token", data=data, auth=auth, timeout=30)


def redeem(dep: Deployment, run: AuthorizationRun, code: str, **overrides: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier, **overrides}
    return token_request(dep, data)


def verify_id_token(dep: Deployment, token: str, client_id: str, access_token: str | None = None) -> dict:
    jwks = httpx.get(dep.base + "/jwks").json()
    return jose_jwt.decode(token, jwks, algorithms=["ES256", "RS256"], audience=client_id, issuer=dep.base,
                           access_token=access_token)


@pytest.fixture
def browser(deployment: Deployment):
    b = Browser(deployment.base)
    yield b
    b.close()


def test_discovery_matches_what_is_served(deployment: Deployment) -> None:
    meta = httpx.get(deployment.base + "/.well-known/openid-configuration").json()
    assert meta["issuer"] == deployment.base
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert "ES256" in meta["id_token_signing_alg_values_supported"]
    assert httpx.get(deployment.base + "/.well-known/oauth-authorization-server").json() == meta
    jwks = httpx.get(meta["jwks_uri"])
    assert jwks.status_code == 200 and "max-age" in jwks.headers["cache-control"]
    assert all("d" not in key for key in jwks.json()["keys"])


def test_code_flow_end_to_end(deployment: Deployment, browser: Browser) -> None:
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid profile email offline_access")
    params = sign_in(browser, run, "canbo01", PASSWORD)
    assert params["state"] == run.state and params["iss"] == deployment.base
    response = redeem(deployment, run, params["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    claims = verify_id_token(deployment, tokens["id_token"], "portal", tokens["access_token"])
    assert claims["nonce"] == run.nonce and claims["sid"] and claims["acr"].endswith("/acr/local-basic")
    assert claims["amr"] == ["pwd"] and isinstance(claims["auth_time"], int)
    access = jose_jwt.get_unverified_header(tokens["access_token"])
    assert access["typ"] == "at+jwt"
    info = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {"sub": claims["sub"], "name": "Trần Thị Bình", "email": "binh@example.vn"}

    # Refresh rotates; the old refresh token replayed revokes the whole grant.
    first = tokens["refresh_token"]
    rotated = token_request(deployment, {"grant_type": "refresh_token", "refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    replay = token_request(deployment, {"grant_type": "refresh_token", "refresh_token": first})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after = token_request(deployment, {"grant_type": "refresh_token", "refresh_token": second})
    assert after.json()["error"] == "invalid_grant"
    revoked = httpx.get(deployment.base + "/userinfo",
                        headers={"Authorization": f"Bearer {rotated.json()['access_token']}"})
    assert revoked.status_code == 401


def test_pairwise_sub_differs_per_client_and_sso_needs_no_typing(deployment: Deployment,
                                                                 browser: Browser) -> None:
    first = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    code1 = sign_in(browser, first, "canbo01", PASSWORD)["code"]
    second = AuthorizationRun("motcua", deployment.redirect_uri("motcua"), scope="openid profile")
    response = browser.follow(browser.http.get("/authorize", params=second.params()), stop_at=second.redirect_uri)
    assert 'name="password"' not in response.text  # single sign-on: no second login form
    if response.status_code == 200:  # consent for the second service only
        response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=second.redirect_uri)
    code2 = response.headers["location"].split("code=")[1].split("&")[0]
    t1 = redeem(deployment, first, code1).json()
    t2 = token_request(deployment, {"grant_type": "authorization_code", "code": code2,
                                    "redirect_uri": second.redirect_uri, "code_verifier": second.verifier},
                       auth=("motcua", "s3cret-of-the-relying-party-motcua-0123456789")).json()
    c1 = verify_id_token(deployment, t1["id_token"], "portal", t1["access_token"])
    c2 = verify_id_token(deployment, t2["id_token"], "motcua", t2["access_token"])
    assert c1["sub"] != c2["sub"] and c1["sid"] == c2["sid"]


def test_client_credentials(deployment: Deployment) -> None:
    response = token_request(deployment, {"grant_type": "client_credentials"},
                             auth=("m2m", "m2m-secret-0123456789-0123456789-0123"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body and "id_token" not in body
    header = jose_jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt"
    intro = httpx.post(deployment.base + "/introspect", data={"token": body["access_token"]},
                       auth=("m2m", "m2m-secret-0123456789-0123456789-0123")).json()
    assert intro["active"] is True and intro["client_id"] == "m2m"
    assert intro["sub"] == "m2m" and intro["scope"] == body["scope"]
    jti = jose_jwt.get_unverified_claims(body["access_token"])["jti"]
    stored = _redis_keys(deployment, "at:" + jti, "at_revoked:" + jti)
    assert stored in (None, [0, 0])  # a client's own token is self-contained: nothing stored at issuance
    httpx.post(deployment.base + "/revoke", data={"token": body["access_token"]},
               auth=("m2m", "m2m-secret-0123456789-0123456789-0123"))
    after = httpx.post(deployment.base + "/introspect", data={"token": body["access_token"]},
                       auth=("m2m", "m2m-secret-0123456789-0123456789-0123")).json()
    assert after == {"active": False}
    assert _redis_keys(deployment, "at_revoked:" + jti) in (None, [1])  # on the deny list until it expires


def _redis_keys(deployment: Deployment, *names: str) -> list[int] | None:
    """Whether each key exists in the deployment's Redis (None for the in-process store)."""
    url = deployment.env.get("IDP_REDIS_URL")
    if not url:
        return None
    client = redis.Redis.from_url(url)
    try:
        return [int(client.exists(deployment.env["IDP_REDIS_PREFIX"] + name)) for name in names]
    finally:
        client.close()


def test_form_post_response_mode(deployment: Deployment, browser: Browser) -> None:
    sign_in(browser, AuthorizationRun("portal", deployment.redirect_uri("portal")), "canbo01", PASSWORD)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"response_mode": "form_post"})
    page = browser.http.get("/authorize", params=run.params())
    assert page.status_code == 200 and "location" not in page.headers
    action, fields, _ = forms(page.text)[0]
    assert action == run.redirect_uri
    assert fields["state"] == run.state and fields["iss"] == deployment.base and fields["code"]
    assert "form-action 'self' http://127.0.0.1:9;" in page.headers["content-security-policy"]
    assert redeem(deployment, run, fields["code"]).status_code == 200

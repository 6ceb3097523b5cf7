"""Pushed authorization requests (RFC 9126) against a running server, with the whole strict flow:
PAR + private_key_jwt + DPoP-bound tokens + refresh, and the refusals of a reused request_uri."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from jose import jwt as jose_jwt

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    browser,
    dpop_proof,
    front_channel,
    profile_deployment,
    push,
)

__all__ = ["browser", "profile_deployment"]
URN = "urn:ietf:params:oauth:request_uri:"


def pushed(dep: ProfileDeployment, run: AuthorizationRun) -> str:
    response = push(dep, run)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["request_uri"].startswith(URN) and body["expires_in"] == 60
    assert response.headers["cache-control"] == "no-store"
    return str(body["request_uri"])


def test_discovery_advertises_par(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert meta["pushed_authorization_request_endpoint"] == profile_deployment.base + "/par"
    assert meta["require_pushed_authorization_requests"] is False


def test_par_private_key_jwt_dpop_and_refresh(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"), scope="openid profile offline_access")
    request_uri = pushed(dep, run)
    params = front_channel(browser, {"client_id": "pkjwt", "request_uri": request_uri}, run.redirect_uri)
    assert params["state"] == run.state and params["iss"] == dep.base

    key = RpKey()
    token_url = dep.base + "/token"
    response = httpx.post(token_url, data={"grant_type": "authorization_code", "code": params["code"],
                                           "redirect_uri": run.redirect_uri, "code_verifier": run.verifier,
                                           **dep.auth("pkjwt")},
                          headers={"DPoP": dpop_proof(key, "POST", token_url)}, timeout=30)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "DPoP"
    assert jose_jwt.get_unverified_claims(tokens["access_token"])["cnf"]["jkt"] == key.thumbprint()

    info = httpx.get(dep.base + "/userinfo", headers={
        "Authorization": "DPoP " + tokens["access_token"],
        "DPoP": dpop_proof(key, "GET", dep.base + "/userinfo", access_token=tokens["access_token"])})
    assert info.status_code == 200, info.text
    assert info.json()["name"] == "Trần Thị Bình"

    refreshed = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                            **dep.auth("pkjwt")},
                           headers={"DPoP": dpop_proof(key, "POST", token_url)}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "DPoP"


def test_reused_request_uri_is_refused(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
    request_uri = pushed(dep, run)
    first = front_channel(browser, {"client_id": "pkjwt", "request_uri": request_uri}, run.redirect_uri)
    assert "code" in first
    again = browser.http.get("/authorize", params={"client_id": "pkjwt", "request_uri": request_uri})
    assert again.status_code == 302
    error = {k: v[0] for k, v in parse_qs(urlsplit(again.headers["location"]).query).items()}
    assert again.headers["location"].startswith(run.redirect_uri)
    assert error["error"] == "invalid_request_uri" and error["state"] == run.state and "code" not in error


def test_unknown_request_uri_and_wrong_client_are_pages(profile_deployment: ProfileDeployment,
                                                         browser: Browser) -> None:
    dep = profile_deployment
    unknown = browser.http.get("/authorize", params={"client_id": "pkjwt", "request_uri": URN + "nope"})
    assert unknown.status_code == 400 and "invalid_request_uri" in unknown.text
    request_uri = pushed(dep, AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt")))
    other = browser.http.get("/authorize", params={"client_id": "spa", "request_uri": request_uri})
    assert other.status_code == 400 and "location" not in other.headers


def test_push_needs_client_authentication(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
    unauthenticated = push(dep, run, auth={})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"
    forged = push(dep, run, auth=dep.auth("pkjwt", aud="https://elsewhere.example.vn"))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_client"


def test_pushed_request_is_validated(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    bad_redirect = push(dep, AuthorizationRun("pkjwt", "https://attacker.example/cb"))
    assert bad_redirect.status_code == 400 and bad_redirect.json()["error"] == "invalid_request"
    bad_scope = push(dep, AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"), scope="openid vn_id"))
    assert bad_scope.json()["error"] == "invalid_scope"
    nested = push(dep, AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt")), request_uri=URN + "x")
    assert nested.json()["error"] == "invalid_request"
    public = push(dep, AuthorizationRun("spa", dep.redirect_uri("spa")), auth={"client_id": "spa"})
    assert public.status_code == 201, public.text


def test_client_requiring_par_is_refused_at_authorize(profile_deployment: ProfileDeployment,
                                                      browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("par-only", dep.redirect_uri("par-only"))
    direct = browser.http.get("/authorize", params=run.params())
    assert direct.status_code == 302 and "error=invalid_request" in direct.headers["location"]
    params = front_channel(browser, {"client_id": "par-only", "request_uri": pushed(dep, run)}, run.redirect_uri)
    assert "code" in params


def test_public_client_refresh_token_is_bound(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("spa", dep.redirect_uri("spa"), scope="openid offline_access")
    params = front_channel(browser, run.params(), run.redirect_uri)
    key, token_url = RpKey(), dep.base + "/token"
    tokens = httpx.post(token_url, data={"grant_type": "authorization_code", "code": params["code"],
                                         "client_id": "spa", "redirect_uri": run.redirect_uri,
                                         "code_verifier": run.verifier},
                        headers={"DPoP": dpop_proof(key, "POST", token_url)}, timeout=30).json()
    assert tokens["token_type"] == "DPoP" and "refresh_token" in tokens

    def refresh(proof_key: RpKey | None) -> httpx.Response:
        headers = {"DPoP": dpop_proof(proof_key, "POST", token_url)} if proof_key else {}
        return httpx.post(token_url, data={"grant_type": "refresh_token", "client_id": "spa",
                                           "refresh_token": tokens["refresh_token"]}, headers=headers, timeout=30)

    assert refresh(RpKey()).json()["error"] == "invalid_grant"  # another key
    assert refresh(None).json()["error"] == "invalid_grant"  # no proof at all
    still_valid = refresh(key)  # the refusals did not burn the token
    assert still_valid.status_code == 200, still_valid.text

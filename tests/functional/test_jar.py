"""Signed request objects (JAR, RFC 9101) by value and through PAR, against a running server."""

from __future__ import annotations

import time

import httpx

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    browser,
    front_channel,
    hmac_with_public_key,
    profile_deployment,
    request_object,
    unsigned,
)

__all__ = ["browser", "profile_deployment"]


def inner(run: AuthorizationRun) -> dict[str, str]:
    return {k: v for k, v in run.params().items() if k != "client_id"}


def test_discovery_advertises_request_objects(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert meta["request_parameter_supported"] is True
    assert set(meta["request_object_signing_alg_values_supported"]) >= {"ES256", "PS256"}
    assert "none" not in meta["request_object_signing_alg_values_supported"]


def test_request_object_by_value_and_outside_parameters_ignored(profile_deployment: ProfileDeployment,
                                                                 browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"), scope="openid")
    signed = request_object(dep.keys["pkjwt"], "pkjwt", dep.base, inner(run))
    outer = {"client_id": "pkjwt", "request": signed, "state": "outside", "scope": "openid email",
             "redirect_uri": "https://attacker.example/cb", "response_type": "code"}
    params = front_channel(browser, outer, run.redirect_uri)
    assert params["state"] == run.state  # the object's state, not the outer one
    token = httpx.post(dep.base + "/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                  "redirect_uri": run.redirect_uri, "code_verifier": run.verifier,
                                                  **dep.auth("pkjwt")}, timeout=30)
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "openid"


def test_request_object_through_par(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
    body = {"client_id": "pkjwt", "request": request_object(dep.keys["pkjwt"], "pkjwt", dep.base, inner(run)),
            "state": "ignored", **dep.auth("pkjwt")}
    pushed = httpx.post(dep.base + "/par", data=body, timeout=30)
    assert pushed.status_code == 201, pushed.text
    params = front_channel(browser, {"client_id": "pkjwt", "request_uri": pushed.json()["request_uri"]},
                           run.redirect_uri)
    assert params["state"] == run.state and "code" in params


def _refused(browser: Browser, token: str) -> None:
    response = browser.http.get("/authorize", params={"client_id": "pkjwt", "request": token})
    assert response.status_code == 400 and "location" not in response.headers
    assert "invalid_request_object" in response.text


def test_forged_request_objects_are_refused(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    key = dep.keys["pkjwt"]
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
    now = int(time.time())
    claims = {"iss": "pkjwt", "aud": dep.base, "client_id": "pkjwt", "exp": now + 60, **inner(run)}
    _refused(browser, unsigned({"alg": "none", "kid": key.kid}, claims, b"x"))
    _refused(browser, hmac_with_public_key(key, claims))
    _refused(browser, RpKey().sign(claims, kid=key.kid))  # the client's kid, another key
    _refused(browser, RpKey().sign(claims))  # unknown kid
    _refused(browser, key.sign(claims, jwk=RpKey().key.as_dict(private=False)))
    _refused(browser, key.sign(claims, jku="http://127.0.0.1:9/keys"))
    _refused(browser, key.sign(claims, x5u="http://127.0.0.1:9/cert"))
    _refused(browser, key.sign({**claims, "padding": "x" * 20_000}))
    _refused(browser, request_object(key, "pkjwt", "https://other.example.vn", inner(run)))
    _refused(browser, request_object(key, "pkjwt", dep.base, inner(run), client_id="spa"))
    _refused(browser, request_object(key, "pkjwt", dep.base, inner(run), exp=now - 600))

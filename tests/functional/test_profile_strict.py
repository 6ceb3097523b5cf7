"""The strict profile switch for one client (``strict_profile: true``) against a running server: PAR,
private_key_jwt with ES256/PS256 only, and DPoP-bound tokens are all required."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    client_assertion,
    dpop_proof,
    front_channel,
    profile_deployment,
    push,
)

__all__ = ["profile_deployment"]


@pytest.fixture
def browser(profile_deployment: ProfileDeployment):
    b = Browser(profile_deployment.base)
    yield b
    b.close()


def test_strict_client_must_push(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    direct = browser.http.get("/authorize", params=AuthorizationRun("strict", dep.redirect_uri("strict")).params())
    assert direct.status_code == 302 and "error=invalid_request" in direct.headers["location"]
    assert "pushed" in httpx.QueryParams(direct.headers["location"].split("?", 1)[1])["error_description"]


def test_strict_client_may_not_sign_with_rs256(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    run = AuthorizationRun("strict", dep.redirect_uri("strict"))
    rs256 = push(dep, run, auth=client_assertion(dep.keys["strict-rs256"], "strict", dep.base))
    assert rs256.status_code == 401 and rs256.json()["error"] == "invalid_client"
    assert "alg_not_allowed" in rs256.json()["error_description"]


def test_strict_flow_requires_a_dpop_proof(profile_deployment: ProfileDeployment, browser: Browser) -> None:
    dep = profile_deployment
    run = AuthorizationRun("strict", dep.redirect_uri("strict"))
    pushed = push(dep, run)
    assert pushed.status_code == 201, pushed.text
    params = front_channel(browser, {"client_id": "strict", "request_uri": pushed.json()["request_uri"]},
                           run.redirect_uri)
    token_url = dep.base + "/token"
    code_request = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": run.redirect_uri,
                    "code_verifier": run.verifier}
    no_proof = httpx.post(token_url, data={**code_request, **dep.auth("strict")}, timeout=30)
    assert no_proof.status_code == 400 and no_proof.json()["error"] == "invalid_dpop_proof"
    rsa_proof = httpx.post(token_url, data={**code_request, **dep.auth("strict")},
                           headers={"DPoP": dpop_proof(RpKey("RS256"), "POST", token_url)}, timeout=30)
    assert rsa_proof.status_code == 400 and rsa_proof.json()["error"] == "invalid_dpop_proof"
    key = RpKey()  # the refusals above did not consume the code
    granted = httpx.post(token_url, data={**code_request, **dep.auth("strict")},
                         headers={"DPoP": dpop_proof(key, "POST", token_url)}, timeout=30)
    assert granted.status_code == 200, granted.text
    assert granted.json()["token_type"] == "DPoP"

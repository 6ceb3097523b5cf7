"""The strict profile switch for one client (``strict_profile: true``) against a running server: PAR,
private_key_jwt with ES256/PS256 only, and DPoP-bound tokens are all required."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    browser,
    client_assertion,
    dpop_proof,
    front_channel,
    profile_deployment,
    push,
)

__all__ = ["browser", "profile_deployment"]


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


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory):
    """A provider with IDP_STRICT_PROFILE=true and one client registered with a secret."""
    from tests.functional.helpers import call_idp, running_server

    env = {"IDP_DATA_DIR": str(tmp_path_factory.mktemp("strict") / "var"), "IDP_STRICT_PROFILE": "true"}
    added = call_idp(["clients", "add", "portal", "--secret-stdin", "--redirect-uri", "http://127.0.0.1:9/portal/cb",
                     "--grant-type", "client_credentials", "--grant-type", "authorization_code"], env,
                    stdin="s3cret-of-the-relying-party-portal-0123456789\n")
    assert added.returncode == 0, added.stderr
    with running_server(env) as base:
        yield base


def test_global_switch_refuses_secrets_and_unpushed_requests(strict_server: str) -> None:
    meta = httpx.get(strict_server + "/.well-known/openid-configuration").json()
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256"]
    token = httpx.post(strict_server + "/token", data={"grant_type": "client_credentials"},
                       auth=("portal", "s3cret-of-the-relying-party-portal-0123456789"), timeout=30)
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb")
    direct = httpx.get(strict_server + "/authorize", params=run.params())
    assert direct.status_code == 302 and "error=invalid_request" in direct.headers["location"]

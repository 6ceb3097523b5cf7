"""Back-channel logout (OIDC Back-Channel Logout 1.0) against a running server: a relying party with a
``backchannel_logout_uri`` receives a logout token it verifies independently (python-jose), after
retries when it first fails; every delivery attempt is in the audit trail."""

from __future__ import annotations

import json
import time

import httpx
from jose import jwt as jose_jwt

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp
from tests.functional.profile_rp import ProfileDeployment, front_channel, profile_deployment

__all__ = ["profile_deployment"]
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def test_discovery_advertises_backchannel_logout(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


def test_logout_token_delivered_with_retries_and_audited(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    browser = Browser(dep.base)
    try:
        run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
        params = front_channel(browser, run.params(), run.redirect_uri)
        tokens = httpx.post(dep.base + "/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                       "redirect_uri": run.redirect_uri,
                                                       "code_verifier": run.verifier, **dep.auth("pkjwt")},
                            timeout=30).json()
        id_claims = jose_jwt.get_unverified_claims(tokens["id_token"])
        receiver = dep.receiver
        before = len(receiver.logout_tokens)
        receiver.fail_first = receiver.posts + 2  # the next two deliveries fail with 500
        logout = browser.http.get("/logout", params={"id_token_hint": tokens["id_token"]})
        assert logout.status_code == 200, logout.text
    finally:
        browser.close()

    delivered = receiver.wait_for_tokens(before + 1)
    assert len(delivered) == before + 1, "no logout token arrived"
    token = delivered[-1]
    assert jose_jwt.get_unverified_header(token)["typ"] == "logout+jwt"
    jwks = httpx.get(dep.base + "/jwks").json()
    claims = jose_jwt.decode(token, jwks, algorithms=["ES256", "RS256"], audience="pkjwt", issuer=dep.base,
                             options={"verify_at_hash": False})
    assert claims["events"] == {EVENT: {}}
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert "nonce" not in claims and claims["jti"] and claims["exp"] > time.time()

    # the access token of the ended session is revoked
    info = httpx.get(dep.base + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 401

    exported = call_idp(["audit", "export", "--type", "logout.backchannel", "--client-id", "pkjwt"], dep.env)
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    outcomes = [(e["outcome"], e["details"]["attempt"]) for e in events[-3:]]
    assert outcomes == [("failure", 1), ("failure", 2), ("success", 3)], events
    assert all("logout_token" not in json.dumps(e) for e in events)

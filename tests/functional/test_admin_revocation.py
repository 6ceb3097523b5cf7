"""Revoking everything a person holds through the admin API or ``idp sessions revoke --person``
tells the relying parties that registered a back-channel logout URI, as a logout does (a logout
token with the person's ``sub`` and the session's ``sid``, verified here independently with
python-jose)."""

from __future__ import annotations

import json

import httpx
from jose import jwt as jose_jwt

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp
from tests.functional.profile_rp import ProfileDeployment, front_channel, profile_deployment
from tests.functional.test_admin_api import BOT_SECRET, client_token
from tests.functional.test_cli_admin import events

__all__ = ["profile_deployment"]


def test_revocation_sends_backchannel_logout_tokens(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    added = call_idp(["clients", "add", "people-bot", "--secret-stdin", "--grant-type", "client_credentials",
                     "--scope", "admin:people"], dep.env, stdin=BOT_SECRET + "\n")
    assert added.returncode == 0, added.stderr
    browser = Browser(dep.base)
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"))
    params = front_channel(browser, run.params(), run.redirect_uri)
    tokens = httpx.post(dep.base + "/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                   "redirect_uri": run.redirect_uri, "code_verifier": run.verifier,
                                                   **dep.auth("pkjwt")}, timeout=30).json()
    browser.close()
    id_claims = jose_jwt.get_unverified_claims(tokens["id_token"])
    before = len(dep.receiver.logout_tokens)

    token = client_token(dep.base, "people-bot", BOT_SECRET, "admin:people")
    revoked = httpx.post(dep.base + "/admin/people/canbo01/revoke", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["backchannel_logouts"] >= 1

    delivered = dep.receiver.wait_for_tokens(before + 1)
    assert len(delivered) >= before + 1, "no logout token arrived"
    jwks = httpx.get(dep.base + "/jwks").json()
    claims = jose_jwt.decode(delivered[-1], jwks, algorithms=["ES256", "RS256"], audience="pkjwt", issuer=dep.base)
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert httpx.get(dep.base + "/userinfo",
                     headers={"Authorization": "Bearer " + tokens["access_token"]}).status_code == 401


def test_the_command_sends_backchannel_logout_tokens(profile_deployment: ProfileDeployment) -> None:
    """``idp sessions revoke --person`` uses the same service: with Redis it ends the session the
    server holds; without it (the embedded deployment: sessions in the server's memory) it still
    revokes the refresh token and tells the relying party, with the sid the grant recorded."""
    dep = profile_deployment
    browser = Browser(dep.base)
    run = AuthorizationRun("pkjwt", dep.redirect_uri("pkjwt"), scope="openid profile offline_access")
    params = front_channel(browser, run.params(), run.redirect_uri)
    tokens = httpx.post(dep.base + "/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                   "redirect_uri": run.redirect_uri, "code_verifier": run.verifier,
                                                   **dep.auth("pkjwt")}, timeout=30).json()
    browser.close()
    id_claims = jose_jwt.get_unverified_claims(tokens["id_token"])
    before = len(dep.receiver.logout_tokens)

    server_env = dep.env | {"IDP_ISSUER": dep.base}  # the command runs with the servers' settings
    revoked = call_idp(["sessions", "revoke", "--person", "canbo01", "--operator", "Lê Văn Cường"], server_env)
    assert revoked.returncode == 0, revoked.stderr
    answer = json.loads(revoked.stdout)
    assert answer["grants_revoked"] >= 1 and answer["backchannel_logouts"] >= 1
    shared = "IDP_REDIS_URL" in dep.env
    assert answer["sessions_ended"] >= (1 if shared else 0)
    assert ("IDP_REDIS_URL is unset" in revoked.stderr) is not shared

    delivered = dep.receiver.logout_tokens[before:]  # the command waited for the deliveries
    jwks = httpx.get(dep.base + "/jwks").json()
    claims = [jose_jwt.decode(t, jwks, algorithms=["ES256", "RS256"], audience="pkjwt", issuer=dep.base)
              for t in delivered]
    assert {(c["sub"], c["sid"]) for c in claims} == {(id_claims["sub"], id_claims["sid"])}
    refreshed = httpx.post(dep.base + "/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": tokens["refresh_token"],
                                                      **dep.auth("pkjwt")}, timeout=30)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    if shared:
        assert httpx.get(dep.base + "/userinfo",
                         headers={"Authorization": "Bearer " + tokens["access_token"]}).status_code == 401
    [event] = [e for e in events(dep.env, "admin.action") if e["details"].get("actor") == "Lê Văn Cường"]
    assert event["details"]["action"] == "person.revoke_all"

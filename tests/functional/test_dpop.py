"""DPoP (RFC 9449) against a running server: bound access tokens, proofs refused at the token
endpoint and at userinfo, and the refusals a stolen token meets."""

from __future__ import annotations

import time

import httpx
import pytest
from jose import jwt as jose_jwt

from tests.functional.profile_rp import (
    DPOP_SECRET,
    ProfileDeployment,
    RpKey,
    dpop_proof,
    hmac_with_public_key,
    profile_deployment,
    unsigned,
)

__all__ = ["profile_deployment"]
M2M = ("dpop-m2m", DPOP_SECRET)


def bound_token(dep: ProfileDeployment, key: RpKey) -> str:
    response = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials"}, auth=M2M,
                          headers={"DPoP": dpop_proof(key, "POST", dep.base + "/token")}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    return str(body["access_token"])


def token_with(dep: ProfileDeployment, proof: str | None) -> httpx.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    return httpx.post(dep.base + "/token", data={"grant_type": "client_credentials"}, auth=M2M, headers=headers,
                      timeout=30)


def proof_refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_dpop_proof", response.text
    assert fragment in response.json()["error_description"], response.text


def userinfo(dep: ProfileDeployment, scheme: str, token: str, proof: str | None) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return httpx.get(dep.base + "/userinfo", headers=headers, timeout=30)


def test_discovery_advertises_dpop(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert set(meta["dpop_signing_alg_values_supported"]) >= {"ES256", "PS256"}
    assert "none" not in meta["dpop_signing_alg_values_supported"]


def test_access_token_is_bound_to_the_proof_key(profile_deployment: ProfileDeployment) -> None:
    key = RpKey()
    claims = jose_jwt.get_unverified_claims(bound_token(profile_deployment, key))
    assert claims["cnf"] == {"jkt": key.thumbprint()}


def test_client_requiring_dpop_is_refused_without_proof(profile_deployment: ProfileDeployment) -> None:
    proof_refused(token_with(profile_deployment, None), "DPoP")


def test_wrong_htu_and_htm_are_refused(profile_deployment: ProfileDeployment) -> None:
    dep, key = profile_deployment, RpKey()
    proof_refused(token_with(dep, dpop_proof(key, "POST", dep.base + "/userinfo")), "htu")
    proof_refused(token_with(dep, dpop_proof(key, "GET", dep.base + "/token")), "htm")
    # normalised: query ignored, default port and host case do not matter
    assert token_with(dep, dpop_proof(key, "POST", dep.base.upper().replace("HTTP://", "http://")
                                      + "/token?x=1")).status_code == 200


def test_stale_and_future_iat_are_refused(profile_deployment: ProfileDeployment) -> None:
    dep, key = profile_deployment, RpKey()
    now = int(time.time())
    proof_refused(token_with(dep, dpop_proof(key, "POST", dep.base + "/token", iat=now - 600)), "iat")
    proof_refused(token_with(dep, dpop_proof(key, "POST", dep.base + "/token", iat=now + 600)), "iat")


def test_replayed_proof_is_refused(profile_deployment: ProfileDeployment) -> None:
    dep, key = profile_deployment, RpKey()
    proof = dpop_proof(key, "POST", dep.base + "/token")
    assert token_with(dep, proof).status_code == 200
    proof_refused(token_with(dep, proof), "replayed")


def test_forged_proofs_are_refused(profile_deployment: ProfileDeployment) -> None:
    dep, key = profile_deployment, RpKey()
    url = dep.base + "/token"
    claims = {"htm": "POST", "htu": url, "iat": int(time.time()), "jti": "a1"}
    public = key.key.as_dict(private=False)
    none = {"typ": "dpop+jwt", "alg": "none", "jwk": public}
    proof_refused(token_with(dep, unsigned(none, claims)), "compact JWS")
    proof_refused(token_with(dep, unsigned(none, claims, b"sig")), "algorithm")
    proof_refused(token_with(dep, hmac_with_public_key(key, claims, typ="dpop+jwt", jwk=public)), "algorithm")
    proof_refused(token_with(dep, dpop_proof(key, "POST", url, header={"typ": "JWT"})), "typ")
    proof_refused(token_with(dep, dpop_proof(key, "POST", url, header={"jwk": key.key.as_dict(private=True)})),
                  "public key")
    proof_refused(token_with(dep, dpop_proof(key, "POST", url, header={"jku": "http://127.0.0.1:9/k"})), "jku")
    proof_refused(token_with(dep, dpop_proof(key, "POST", url, header={"x5u": "http://127.0.0.1:9/c"})), "x5u")
    proof_refused(token_with(dep, dpop_proof(key, "POST", url, padding="x" * 20_000)), "too large")
    other = RpKey()  # signed by one key, claiming another
    forged = dpop_proof(other, "POST", url, header={"jwk": public})
    proof_refused(token_with(dep, forged), "signature")


def test_userinfo_needs_a_proof_of_the_bound_key(profile_deployment: ProfileDeployment) -> None:
    dep, key = profile_deployment, RpKey()
    token = bound_token(dep, key)
    url = dep.base + "/userinfo"

    as_bearer = userinfo(dep, "Bearer", token, None)
    assert as_bearer.status_code == 401 and as_bearer.json()["error"] == "invalid_token"
    assert as_bearer.headers["www-authenticate"].startswith("DPoP ")

    thief = userinfo(dep, "DPoP", token, dpop_proof(RpKey(), "GET", url, access_token=token))
    assert thief.status_code == 401 and thief.json()["error"] == "invalid_token"
    assert "another key" in thief.json()["error_description"]

    no_ath = userinfo(dep, "DPoP", token, dpop_proof(key, "GET", url))
    assert no_ath.status_code == 401 and no_ath.json()["error"] == "invalid_dpop_proof"

    wrong_htm = userinfo(dep, "DPoP", token, dpop_proof(key, "POST", url, access_token=token))
    assert wrong_htm.json()["error"] == "invalid_dpop_proof"

    # a correct proof gets past the binding: this client_credentials token simply has no openid scope
    good = userinfo(dep, "DPoP", token, dpop_proof(key, "GET", url, access_token=token))
    assert good.status_code == 403 and good.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize("scheme", ["DPoP"])
def test_unbound_token_cannot_be_presented_as_dpop(profile_deployment: ProfileDeployment, scheme: str) -> None:
    dep = profile_deployment
    response = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials",
                                                     **dep.auth("pkjwt-m2m")}, timeout=30)
    token = response.json()["access_token"]
    key = RpKey()
    refused = userinfo(dep, scheme, token, dpop_proof(key, "GET", dep.base + "/userinfo", access_token=token))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"

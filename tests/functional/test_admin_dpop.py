"""The admin API takes a strict-profile client's DPoP-bound access token (RFC 9449 §7): presented
as ``Authorization: DPoP`` with a proof of the bound key for that very request; refused as Bearer,
without a proof, with a proof of another key, for another request, or forged (alg none, an HMAC
keyed with the public key, an embedded private key, jku, x5u, a key the proof does not name,
oversized); the access token itself forged the same ways as the Bearer tests do is refused too."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.functional.helpers import call_idp
from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    dpop_proof,
    hmac_with_public_key,
    profile_deployment,
    unsigned,
)
from tests.functional.test_id_token_hint import ATTACKS, forged_hints

__all__ = ["profile_deployment"]
KEYS_BOT = ("keys-bot-dpop", "keys-bot-secret-0123456789-0123456789-dpop")


@pytest.fixture(scope="module")
def bound(profile_deployment: ProfileDeployment) -> tuple[ProfileDeployment, RpKey, str]:
    """A client allowed admin:keys, and its access token bound to a key of its own."""
    dep, key = profile_deployment, RpKey()
    added = call_idp(["clients", "add", KEYS_BOT[0], "--secret-stdin", "--grant-type", "client_credentials",
                     "--scope", "admin:keys"], dep.env, stdin=KEYS_BOT[1] + "\n")
    assert added.returncode == 0, added.stderr
    response = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials", "scope": "admin:keys"},
                          auth=KEYS_BOT, headers={"DPoP": dpop_proof(key, "POST", dep.base + "/token")}, timeout=30)
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.text
    return dep, key, str(response.json()["access_token"])


def keys(dep: ProfileDeployment, scheme: str, token: str, proof: str | None) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}", **({"DPoP": proof} if proof is not None else {})}
    return httpx.get(dep.base + "/admin/keys", headers=headers, timeout=30)


def refused(response: httpx.Response, error: str, fragment: str = "") -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == error and fragment in response.json()["error_description"], response.text
    assert response.headers["www-authenticate"].startswith("DPoP ")


def test_a_bound_token_with_its_proof_is_taken(bound: tuple[ProfileDeployment, RpKey, str]) -> None:
    dep, key, token = bound
    url = dep.base + "/admin/keys"
    listed = keys(dep, "DPoP", token, dpop_proof(key, "GET", url, access_token=token))
    assert listed.status_code == 200, listed.text
    assert listed.json() and all("kid" in k for k in listed.json())
    refused(keys(dep, "Bearer", token, None), "invalid_token", "DPoP proof")
    refused(keys(dep, "DPoP", token, None), "invalid_dpop_proof")
    refused(keys(dep, "DPoP", token, dpop_proof(RpKey(), "GET", url, access_token=token)), "invalid_token",
            "another key")
    refused(keys(dep, "DPoP", token, dpop_proof(key, "GET", url)), "invalid_dpop_proof")  # no ath
    refused(keys(dep, "DPoP", token, dpop_proof(key, "POST", url, access_token=token)), "invalid_dpop_proof")
    refused(keys(dep, "DPoP", token, dpop_proof(key, "GET", dep.base + "/admin/clients", access_token=token)),
            "invalid_dpop_proof")
    replayed = dpop_proof(key, "GET", url, access_token=token)
    assert keys(dep, "DPoP", token, replayed).status_code == 200
    refused(keys(dep, "DPoP", token, replayed), "invalid_dpop_proof")


def test_an_unbound_token_is_not_taken_as_dpop(bound: tuple[ProfileDeployment, RpKey, str]) -> None:
    dep, key, _ = bound
    plain = httpx.post(dep.base + "/token", data={"grant_type": "client_credentials", "scope": "admin:keys"},
                       auth=KEYS_BOT, timeout=30).json()["access_token"]
    assert keys(dep, "Bearer", plain, None).status_code == 200
    refused(keys(dep, "DPoP", plain, dpop_proof(key, "GET", dep.base + "/admin/keys", access_token=plain)),
            "invalid_token", "not DPoP-bound")


def test_forged_proofs_are_refused(bound: tuple[ProfileDeployment, RpKey, str]) -> None:
    dep, key, token = bound
    url = dep.base + "/admin/keys"
    public = key.key.as_dict(private=False)
    claims = {"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "admin-forged"}
    none = {"typ": "dpop+jwt", "alg": "none", "jwk": public}
    forged = {
        "alg_none": unsigned(none, claims),
        "alg_none_signed": unsigned(none, claims, b"sig"),
        "hmac_with_public_key": hmac_with_public_key(key, claims, typ="dpop+jwt", jwk=public),
        "embedded_private_jwk": dpop_proof(key, "GET", url, access_token=token,
                                           header={"jwk": key.key.as_dict(private=True)}),
        "jku": dpop_proof(key, "GET", url, access_token=token, header={"jku": "http://127.0.0.1:9/k"}),
        "x5u": dpop_proof(key, "GET", url, access_token=token, header={"x5u": "http://127.0.0.1:9/c"}),
        "unknown_key": dpop_proof(RpKey(), "GET", url, access_token=token, header={"jwk": public}),
        "oversized": dpop_proof(key, "GET", url, access_token=token, padding="x" * 20_000),
    }
    for attack, proof in forged.items():
        response = keys(dep, "DPoP", token, proof)
        assert response.status_code == 401, (attack, response.text)
        assert response.json()["error"] == "invalid_dpop_proof", (attack, response.text)


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_access_tokens_are_refused_as_dpop(bound: tuple[ProfileDeployment, RpKey, str], attack: str) -> None:
    dep, key, token = bound
    forged = forged_hints(dep, token)[attack]  # type: ignore[arg-type]
    response = keys(dep, "DPoP", forged, dpop_proof(key, "GET", dep.base + "/admin/keys", access_token=forged))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"

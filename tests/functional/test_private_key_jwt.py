"""private_key_jwt client authentication (RFC 7523, OIDC Core §9) against a running server: what a
relying party signing with joserfc sees, including every refusal of a forged or replayed assertion."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.functional.profile_rp import (
    ProfileDeployment,
    RpKey,
    assertion_claims,
    client_assertion,
    hmac_with_public_key,
    profile_deployment,
    unsigned,
)

__all__ = ["profile_deployment"]


def m2m(dep: ProfileDeployment, fields: dict[str, str], client_id: str = "pkjwt-m2m") -> httpx.Response:
    return httpx.post(dep.base + "/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                 **fields}, timeout=30)


def refused(response: httpx.Response, fragment: str = "") -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client", body
    assert fragment in body.get("error_description", ""), body


def test_discovery_advertises_private_key_jwt(profile_deployment: ProfileDeployment) -> None:
    meta = httpx.get(profile_deployment.base + "/.well-known/openid-configuration").json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) >= {"ES256", "PS256"}
    assert not {"none", "HS256"} & set(meta["token_endpoint_auth_signing_alg_values_supported"])


def test_signed_assertion_authenticates(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    response = m2m(dep, dep.auth("pkjwt-m2m"))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    # the token endpoint URL is an accepted audience too
    assert m2m(dep, dep.auth("pkjwt-m2m", aud=dep.base + "/token")).status_code == 200


def test_replayed_assertion_is_refused(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    fields = dep.auth("pkjwt-m2m")
    assert m2m(dep, fields).status_code == 200
    refused(m2m(dep, fields), "already used")


def test_wrong_audience_is_refused(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    refused(m2m(dep, dep.auth("pkjwt-m2m", aud="https://other.example.vn")), "aud")


def test_hmac_signed_with_the_public_key_is_refused(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    key = dep.keys["pkjwt-m2m"]
    forged = hmac_with_public_key(key, assertion_claims("pkjwt-m2m", dep.base))
    refused(m2m(dep, {"client_assertion_type": client_assertion(key, "x", "y")["client_assertion_type"],
                      "client_assertion": forged}), "alg_not_allowed")


@pytest.mark.parametrize("header", [
    {"alg": "none"},
    {"alg": "ES256", "jwk": "EMBED"},
    {"alg": "ES256", "jku": "http://127.0.0.1:9/keys"},
    {"alg": "ES256", "x5u": "http://127.0.0.1:9/cert"},
])
def test_unsafe_headers_are_refused(profile_deployment: ProfileDeployment, header: dict) -> None:
    dep = profile_deployment
    attacker = RpKey()
    header = {**header, "kid": dep.keys["pkjwt-m2m"].kid}
    if header.get("jwk") == "EMBED":
        header["jwk"] = attacker.key.as_dict(private=False)
    claims = assertion_claims("pkjwt-m2m", dep.base)
    token = _signed(attacker, header, claims)
    refused(m2m(dep, {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                      "client_assertion": token}), "refused")


def _signed(key: RpKey, header: dict, claims: dict) -> str:
    if header["alg"] == "none":
        return unsigned(header, claims)
    from joserfc import jws

    payload = json.dumps(claims).encode()
    return jws.serialize_compact({**header, "alg": "ES256"}, payload, key.key, algorithms=["ES256"])


def test_unknown_kid_and_foreign_key_are_refused(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    stranger = RpKey()
    refused(m2m(dep, client_assertion(stranger, "pkjwt-m2m", dep.base)), "unknown_kid")
    impostor = RpKey(kid=dep.keys["pkjwt-m2m"].kid)  # the client's kid, another private key
    refused(m2m(dep, client_assertion(impostor, "pkjwt-m2m", dep.base)), "bad_signature")


def test_oversized_assertion_is_refused(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    refused(m2m(dep, dep.auth("pkjwt-m2m", padding="x" * 20_000)), "oversized")


def test_claims_are_checked(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    now = int(time.time())
    refused(m2m(dep, dep.auth("pkjwt-m2m", exp=now + 3600)), "5 minutes")
    refused(m2m(dep, dep.auth("pkjwt-m2m", exp=now - 600)), "expired")
    refused(m2m(dep, dep.auth("pkjwt-m2m", sub="someone-else")), "iss and sub")
    refused(m2m(dep, dep.auth("pkjwt-m2m", jti=None)), "jti")
    # the client_id form parameter must name the assertion's issuer
    refused(m2m(dep, dep.auth("pkjwt-m2m"), client_id="pkjwt-uri"), "client_id")


def test_secret_clients_cannot_switch_to_assertions(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    key = RpKey()
    refused(m2m(dep, client_assertion(key, "dpop-m2m", dep.base), client_id="dpop-m2m"), "not registered")


def test_jwks_uri_keys_are_fetched_and_rotated(profile_deployment: ProfileDeployment) -> None:
    dep = profile_deployment
    assert m2m(dep, dep.auth("pkjwt-uri"), client_id="pkjwt-uri").status_code == 200
    rotated = RpKey()
    dep.receiver.jwks = {"keys": [rotated.public_jwk()]}
    time.sleep(1.1)  # IDP_CLIENT_JWKS_REFETCH_SECONDS=1: an unknown kid may trigger one refetch per second
    response = m2m(dep, client_assertion(rotated, "pkjwt-uri", dep.base), client_id="pkjwt-uri")
    assert response.status_code == 200, response.text


def test_jwks_uri_on_an_internal_address_is_refused_without_a_connection(
        profile_deployment: ProfileDeployment) -> None:
    """A jwks_uri whose host is not a public address (0.0.0.0 reaches this machine; 169.254.169.254
    is the cloud metadata service) is refused at registration; one stored without that check (before
    it existed, here written to the store directly) is never fetched: invalid_client."""
    from idp.clients.service import register_client
    from idp.runtime import open_storage
    from idp.settings import Settings
    from tests.functional.test_registration import initial_token, register
    from tests.unit.net.support import Listener

    dep = profile_deployment
    listener = Listener()
    try:
        token = initial_token(dep, uses=1)
        for index, jwks_uri in enumerate((f"https://0.0.0.0:{listener.port}/jwks",
                                          "https://169.254.169.254/latest/jwks")):
            registered = register(dep, token, {
                "client_name": "Hệ thống một cửa xã", "grant_types": ["client_credentials"], "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks_uri, "scope": "openid"})
            assert registered.status_code == 400, registered.text
            assert registered.json()["error"] == "invalid_client_metadata"
            client_id = f"stored-internal-{index}-{time.monotonic_ns()}"
            storage = open_storage(Settings(**{k[4:].lower(): v for k, v in dep.env.items()}))  # type: ignore[arg-type]
            try:
                register_client(storage, client_id, redirect_uris=[], auth_method="private_key_jwt",
                                grant_types=("client_credentials",), scopes=("openid",),
                                extra={"jwks_uri": jwks_uri})
            finally:
                storage.close()
            response = m2m(dep, client_assertion(RpKey(), client_id, dep.base), client_id=client_id)
            refused(response, "jwks_unavailable")
        assert not listener.connected()
    finally:
        listener.close()

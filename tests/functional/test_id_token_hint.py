"""``id_token_hint`` is verified against this provider's own keys only: regression tests for the
JWT attacks (alg none, embedded jwk/jku/x5u, HMAC with the public key, unknown kid, oversized)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk as jose_jwk
from jose import jwt as jose_jwt

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, sign_in
from tests.functional.oidc_fixtures import PASSWORD, Deployment
from tests.functional.test_oidc_code_flow import redeem


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def hmac_signed(kid: str, claims: dict, secret: bytes) -> str:
    """HS256 with our public key as the HMAC secret (the classic algorithm-confusion forgery)."""
    signing_input = f"{b64({'alg': 'HS256', 'kid': kid})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jose_jwt.get_unverified_claims(token)


def forged_hints(deployment: Deployment, genuine: str) -> dict[str, str]:
    claims = claims_of(genuine)
    header = jose_jwt.get_unverified_header(genuine)
    published = httpx.get(deployment.base + "/jwks").json()["keys"]
    ours = next(k for k in published if k["kid"] == header["kid"])
    public_pem = jose_jwk.construct(ours).public_key().to_pem()
    attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_pem = attacker.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
    attacker_jwk = jose_jwk.construct(attacker.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), "ES256").to_dict()
    return {
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "embedded_jwk": jose_jwt.encode(claims, attacker_pem, algorithm="ES256",
                                        headers={"kid": header["kid"], "jwk": attacker_jwk}),
        "jku": jose_jwt.encode(claims, attacker_pem, algorithm="ES256",
                               headers={"kid": header["kid"], "jku": "http://127.0.0.1:9/jwks"}),
        "x5u": jose_jwt.encode(claims, attacker_pem, algorithm="ES256",
                               headers={"kid": header["kid"], "x5u": "http://127.0.0.1:9/cert"}),
        "hmac_with_public_key": hmac_signed(header["kid"], claims, public_pem),
        "unknown_kid": jose_jwt.encode(claims, attacker_pem, algorithm="ES256", headers={"kid": "not-ours"}),
        "oversized": jose_jwt.encode({**claims, "pad": "x" * 20000}, attacker_pem, algorithm="ES256",
                                     headers={"kid": header["kid"]}),
    }


@pytest.fixture
def session_and_hint(deployment: Deployment):
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    tokens = redeem(deployment, run, sign_in(browser, run, "canbo01", PASSWORD)["code"]).json()
    yield browser, tokens["id_token"]
    browser.close()


ATTACKS = ["alg_none", "embedded_jwk", "jku", "x5u", "hmac_with_public_key", "unknown_kid", "oversized"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_hint_at_logout_is_refused(deployment: Deployment, session_and_hint, attack: str) -> None:
    browser, genuine = session_and_hint
    hint = forged_hints(deployment, genuine)[attack]
    response = browser.http.get("/logout", params={"id_token_hint": hint,
                                                   "post_logout_redirect_uri": "http://127.0.0.1:9/portal/bye"})
    assert response.status_code == 400 and "location" not in response.headers
    # The session survived: a silent authorization still works.
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"prompt": "none"})
    assert "code" in callback_params(browser.http.get("/authorize", params=run.params()))


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_hint_at_authorize_is_an_error_to_the_client(deployment: Deployment, session_and_hint,
                                                           attack: str) -> None:
    browser, genuine = session_and_hint
    hint = forged_hints(deployment, genuine)[attack]
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"id_token_hint": hint})
    response = browser.http.get("/authorize", params=run.params())
    if response.status_code == 302:
        params = callback_params(response)
        assert params["error"] == "invalid_request" and "code" not in params
    else:  # an oversized hint is refused before the client is known to be talking sense
        assert response.status_code == 400 and "location" not in response.headers


def test_genuine_hint_naming_the_person_passes(deployment: Deployment, session_and_hint) -> None:
    browser, genuine = session_and_hint
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"id_token_hint": genuine,
                                                                             "prompt": "none"})
    assert "code" in callback_params(browser.http.get("/authorize", params=run.params()))

"""ID-token validation (adapters/oidc/id_token.py): the regression cases every JWT verifier of
the project must have (alg none, embedded jwk/jku/x5u, HMAC with the public key, unknown kid,
oversized input) and the OIDC Core §3.1.3.7 claim checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from jose import jwt as jose_jwt
from joserfc import jwt
from joserfc.jwk import RSAKey

from adapters.base import UpstreamRejected
from adapters.oidc.id_token import IdTokenRules, validate_id_token
from adapters.oidc.jwks import UpstreamKeys

ISSUER = "https://sso.example.test/realms/citizen"
CLIENT = "provincial-idp"
NONCE = "n-0S6_WzA2Mj"
RULES = IdTokenRules(issuer=ISSUER, client_id=CLIENT, algorithms=("RS256",), leeway=30, max_age=600, max_bytes=16384)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def upstream_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


class Jwks:
    """The upstream's published keys; counts how often they are fetched."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [k.as_dict(private=False) for k in self.keys]}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "f3c1-uuid", "iat": now, "exp": now + 300, "nonce": NONCE}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey, payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, payload, key, algorithms=["RS256"])


def validate(token: str, keys: UpstreamKeys, nonce: str = NONCE) -> dict[str, Any]:
    return validate_id_token(token, keys, RULES, nonce=nonce, now=int(time.time()))


def reason_of(token: str, keys: UpstreamKeys, nonce: str = NONCE) -> str:
    with pytest.raises(UpstreamRejected) as caught:
        validate(token, keys, nonce)
    return caught.value.reason


@pytest.fixture
def keys(upstream_key: RSAKey) -> UpstreamKeys:
    return UpstreamKeys(Jwks(upstream_key), refresh_seconds=60)


def test_a_valid_token_gives_its_claims(upstream_key: RSAKey, keys: UpstreamKeys) -> None:
    token = sign(upstream_key, claims(name="Nguyễn Văn An"))
    assert validate(token, keys)["name"] == "Nguyễn Văn An"
    # An independent implementation agrees that the token we accept is genuine.
    verified = jose_jwt.decode(token, upstream_key.as_dict(private=False), algorithms=["RS256"], audience=CLIENT)
    assert verified["sub"] == "f3c1-uuid"


def test_alg_none_is_refused(keys: UpstreamKeys) -> None:
    token = b64(json.dumps({"alg": "none", "kid": "k1"}).encode()) + "." + b64(json.dumps(claims()).encode()) + "."
    assert reason_of(token, keys) == "alg_not_allowed"


def test_hmac_with_the_public_key_as_secret_is_refused(upstream_key: RSAKey, keys: UpstreamKeys) -> None:
    signing_input = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode()) + "." + b64(json.dumps(claims()).encode())
    for secret in (upstream_key.as_pem(private=False), json.dumps(upstream_key.as_dict(private=False)).encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert reason_of(signing_input + "." + b64(mac), keys) == "alg_not_allowed"


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_a_token_naming_its_own_key_is_refused(upstream_key: RSAKey, keys: UpstreamKeys, header: str) -> None:
    attacker = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    value: Any = {
        "jwk": attacker.as_dict(private=False),
        "jku": "https://attacker.test/jwks.json",
        "x5u": "https://attacker.test/cert.pem",
        "x5c": ["MIIB"],
    }[header]
    token = sign(attacker, claims(), **{header: value})
    assert reason_of(token, keys) == "header_not_allowed"


def test_a_key_from_nowhere_is_refused_and_the_jwks_refetch_is_rate_limited(upstream_key: RSAKey) -> None:
    jwks = Jwks(upstream_key)
    keys = UpstreamKeys(jwks, refresh_seconds=60)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    for _ in range(5):
        assert reason_of(sign(stranger, claims()), keys) == "unknown_kid"
    assert jwks.fetches == 1  # the first fetch only: further unknown kids wait for the period


def test_a_rotated_key_is_fetched_once_its_kid_appears(upstream_key: RSAKey) -> None:
    clock = [1000.0]
    jwks = Jwks(upstream_key)
    keys = UpstreamKeys(jwks, refresh_seconds=60, clock=lambda: clock[0])
    assert validate(sign(upstream_key, claims()), keys)
    new_key = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"})
    jwks.keys.append(new_key)
    clock[0] += 61
    assert validate(sign(new_key, claims()), keys)["sub"] == "f3c1-uuid"
    assert jwks.fetches == 2


def test_a_signature_by_another_key_under_the_right_kid_is_refused(keys: UpstreamKeys) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert reason_of(sign(impostor, claims()), keys) == "bad_signature"


def test_a_tampered_payload_is_refused(upstream_key: RSAKey, keys: UpstreamKeys) -> None:
    header, _, signature = sign(upstream_key, claims()).split(".")
    forged_payload = b64(json.dumps(claims(sub="someone-else")).encode())
    assert reason_of(f"{header}.{forged_payload}.{signature}", keys) == "bad_signature"


def test_oversized_input_is_refused_before_parsing(keys: UpstreamKeys) -> None:
    assert reason_of("a" * 20000 + ".b.c", keys) == "oversized_token"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "!!.e30.x", "e30.e30.e30.e30.e30"])
def test_malformed_input_is_refused(keys: UpstreamKeys, token: str) -> None:
    assert reason_of(token, keys) in ("malformed_token", "encrypted_token", "alg_not_allowed")


@dataclass(frozen=True)
class FromNow:
    """A time claim this many seconds from the moment the test runs."""

    seconds: int


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.test"}, "wrong_issuer"),
        ({"aud": "another-client"}, "wrong_audience"),
        ({"aud": [CLIENT, "another-client"]}, "wrong_audience"),  # several audiences need azp
        ({"azp": "another-client"}, "wrong_audience"),
        ({"exp": FromNow(-120)}, "expired"),
        ({"iat": FromNow(-3600), "exp": FromNow(60)}, "expired"),
        ({"iat": FromNow(600)}, "issued_in_future"),
        ({"nonce": "another-nonce"}, "nonce_mismatch"),
        ({"nonce": None}, "nonce_mismatch"),
        ({"sub": None}, "missing_sub"),
        ({"exp": None}, "malformed_token"),
    ],
)
def test_claim_checks(upstream_key: RSAKey, keys: UpstreamKeys, changes: dict[str, Any], reason: str) -> None:
    now = int(time.time())  # times relative to when the test runs, not to when it was collected
    changes = {k: now + v.seconds if isinstance(v, FromNow) else v for k, v in changes.items()}
    assert reason_of(sign(upstream_key, claims(**changes)), keys) == reason


def test_small_clock_skew_is_tolerated(upstream_key: RSAKey, keys: UpstreamKeys) -> None:
    now = int(time.time())
    assert validate(sign(upstream_key, claims(iat=now + 10, exp=now - 10)), keys)


def test_several_audiences_with_our_azp_are_accepted(upstream_key: RSAKey, keys: UpstreamKeys) -> None:
    assert validate(sign(upstream_key, claims(aud=[CLIENT, "x"], azp=CLIENT)), keys)


def test_symmetric_keys_in_the_upstream_jwks_are_never_used() -> None:
    from joserfc.jwk import OctKey

    secret = OctKey.generate_key(256, parameters={"kid": "k1"})
    keys = UpstreamKeys(lambda: {"keys": [secret.as_dict(private=True)]}, refresh_seconds=60)
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, claims(), secret, algorithms=["HS256"])
    assert reason_of(token, keys) == "alg_not_allowed"
    rules = IdTokenRules(ISSUER, CLIENT, ("RS256", "HS256"), 30, 600, 16384)  # even if misconfigured
    with pytest.raises(UpstreamRejected) as caught:
        validate_id_token(token, keys, rules, nonce=NONCE, now=int(time.time()))
    assert caught.value.reason == "unknown_kid"

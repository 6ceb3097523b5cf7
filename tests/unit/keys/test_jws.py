"""encode_jwt over software signers, and the refusals of the strict verifier (RFC 8725)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from jose import jwt as jose_jwt

from keys import algorithms, software
from keys.errors import InvalidToken
from keys.jwt import encode_jwt
from keys.signer import SUPPORTED_ALGORITHMS, Signer
from keys.verify import MAX_TOKEN_BYTES, check_time_claims, verify_compact


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, sign) -> str:  # type: ignore[no-untyped-def]
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return signing_input + "." + b64(sign(signing_input.encode()))


@pytest.fixture(scope="module")
def signers() -> dict[str, software.SoftwareSigner]:
    return {alg: software.generate(alg) for alg in SUPPORTED_ALGORITHMS}


@pytest.fixture(scope="module")
def published(signers):  # type: ignore[no-untyped-def]
    return {s.kid: (s.alg, s._private_key.public_key()) for s in signers.values()}


CLAIMS = {"iss": "https://idp.example.gov.vn", "sub": "p-123", "name": "Nguyễn Văn An", "exp": 2_000_000_000}


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_signed_token_verifies_and_keeps_vietnamese_text(alg, signers, published):  # type: ignore[no-untyped-def]
    signer = signers[alg]
    assert isinstance(signer, Signer)
    token = encode_jwt(signer, CLAIMS, typ="at+jwt")
    header, claims = verify_compact(token, published, typ="at+jwt")
    assert header == {"alg": alg, "kid": signer.kid, "typ": "at+jwt"}
    assert claims["name"] == "Nguyễn Văn An"


def test_es256_signature_is_raw_r_s_and_python_jose_agrees(signers):  # type: ignore[no-untyped-def]
    token = encode_jwt(signers["ES256"], CLAIMS)
    assert len(base64.urlsafe_b64decode(token.split(".")[2] + "==")) == 64
    assert jose_jwt.decode(token, signers["ES256"].public_jwk(), algorithms=["ES256"])["sub"] == "p-123"


def test_public_jwk_has_no_private_members(signers):  # type: ignore[no-untyped-def]
    for signer in signers.values():
        jwk = signer.public_jwk()
        assert jwk["use"] == "sig" and jwk["alg"] == signer.alg and jwk["kid"] == signer.kid
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


def test_caller_cannot_set_key_headers(signers):  # type: ignore[no-untyped-def]
    for name in ("alg", "kid", "jwk", "jku", "x5u", "crit"):
        with pytest.raises(ValueError):
            encode_jwt(signers["ES256"], CLAIMS, extra_headers={name: "x"})


def reason(token: str, published, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidToken) as caught:
        verify_compact(token, published, **kwargs)
    return caught.value.reason


def test_alg_none_is_refused(signers, published):  # type: ignore[no-untyped-def]
    kid = signers["ES256"].kid
    token = f"{b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{b64(json.dumps(CLAIMS).encode())}."
    assert reason(token, published) == "malformed"
    assert reason(token + "AA", published) == "alg_not_allowed"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_hmac_with_public_key_as_secret_is_refused(alg, signers, published):  # type: ignore[no-untyped-def]
    signer = signers[alg]
    pem = signer._private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (pem, json.dumps(signer.public_jwk()).encode()):
        token = forge({"alg": "HS256", "kid": signer.kid}, CLAIMS,
                      lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest())
        assert reason(token, published) == "alg_not_allowed"


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c", "crit"])
def test_headers_that_bring_their_own_key_are_refused(header, signers, published):  # type: ignore[no-untyped-def]
    attacker = software.generate("ES256")
    value = {"jwk": attacker.public_jwk(), "jku": "https://evil.example/jwks", "x5u": "https://evil.example/c",
             "x5c": ["MIIB"], "crit": ["exp"]}[header]
    # an attacker's own key, a header pointing at it, and our kid or theirs: refused either way
    for kid in (signers["ES256"].kid, attacker.kid):
        token = forge({"alg": "ES256", "kid": kid, header: value}, CLAIMS, attacker.sign)
        assert reason(token, published) == "header_not_allowed"


def test_unknown_kid_is_refused(published):  # type: ignore[no-untyped-def]
    stranger = software.generate("ES256")
    assert reason(encode_jwt(stranger, CLAIMS), published) == "unknown_kid"
    token = forge({"alg": "ES256"}, CLAIMS, stranger.sign)
    assert reason(token, published) == "unknown_kid"


def test_alg_must_equal_the_keys_alg(signers, published):  # type: ignore[no-untyped-def]
    rsa_signer = signers["RS256"]
    token = forge({"alg": "PS256", "kid": rsa_signer.kid}, CLAIMS,
                  lambda data: algorithms.sign(rsa_signer._private_key, "PS256", data))
    assert reason(token, published) == "alg_mismatch"


def test_oversized_input_is_refused_before_parsing(signers, published):  # type: ignore[no-untyped-def]
    token = encode_jwt(signers["ES256"], {**CLAIMS, "pad": "x" * MAX_TOKEN_BYTES})
    assert reason(token, published) == "oversized"
    assert reason(token.encode(), published) == "oversized"


def test_tampered_payload_and_wrong_typ_are_refused(signers, published):  # type: ignore[no-untyped-def]
    token = encode_jwt(signers["EdDSA"], CLAIMS, typ="logout+jwt")
    head, _payload, sig = token.split(".")
    other = b64(json.dumps({**CLAIMS, "sub": "someone-else"}).encode())
    assert reason(f"{head}.{other}.{sig}", published) == "bad_signature"
    assert reason(token, published, typ="at+jwt") == "wrong_typ"
    assert verify_compact(token, published, typ="application/logout+jwt")[1]["sub"] == "p-123"


def test_duplicate_members_are_refused(signers, published):  # type: ignore[no-untyped-def]
    signer = signers["ES256"]
    header = b64(('{"alg":"ES256","kid":"' + signer.kid + '","alg":"ES256"}').encode())
    payload = b64(json.dumps(CLAIMS).encode())
    token = f"{header}.{payload}." + b64(signer.sign(f"{header}.{payload}".encode()))
    assert reason(token, published) == "malformed"


def test_time_claims() -> None:
    now = time.time()
    check_time_claims({"exp": now + 10, "iat": now, "nbf": now}, now=now)
    check_time_claims({"exp": now - 30}, now=now, leeway=60)
    for claims, expected in (({"exp": now - 61}, "expired"), ({}, "missing_exp"),
                             ({"exp": now + 999, "nbf": now + 300}, "not_yet_valid"),
                             ({"exp": now + 999, "iat": now + 300}, "issued_in_future"),
                             ({"exp": "soon"}, "malformed"), ({"exp": True}, "malformed")):
        with pytest.raises(InvalidToken) as caught:
            check_time_claims(claims, now=now)
        assert caught.value.reason == expected

"""Checkpoint signatures: only a stored key's real signature counts (JWT regression cases)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from idp.audit.signatures import SignatureInvalid
from tests.unit.audit.conftest import CheckpointKey

CLAIMS = {"purpose": "audit-checkpoint", "audit_seq": 4, "audit_hash": "ab" * 32, "iat": 1}


def b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def test_a_real_signature_verifies(checkpoint_key: CheckpointKey) -> None:
    assert checkpoint_key.verifier()(checkpoint_key.sign(CLAIMS))["audit_seq"] == 4


def test_alg_none_is_refused(checkpoint_key: CheckpointKey) -> None:
    with pytest.raises(SignatureInvalid, match="not allowed"):
        checkpoint_key.verifier()(compact({"alg": "none", "kid": checkpoint_key.kid}, CLAIMS))


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_a_key_named_in_the_header_is_refused(checkpoint_key: CheckpointKey, header: str) -> None:
    attacker = ECKey.generate_key("P-256")
    values = {"jwk": attacker.as_dict(private=False), "jku": "http://127.0.0.1:9/jwks",
              "x5u": "http://127.0.0.1:9/cert", "x5c": ["MIIB"]}
    protected = {"alg": "ES256", "kid": checkpoint_key.kid, header: values[header]}
    token = jws.serialize_compact(protected, json.dumps(CLAIMS), attacker)
    with pytest.raises(SignatureInvalid):
        checkpoint_key.verifier()(token)


def test_hmac_with_the_public_key_as_secret_is_refused(checkpoint_key: CheckpointKey) -> None:
    header = {"alg": "HS256", "kid": checkpoint_key.kid}
    secret = json.dumps(checkpoint_key.public_jwk).encode()
    unsigned = compact(header, CLAIMS).rsplit(".", 1)[0]
    token = unsigned + "." + b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())
    with pytest.raises(SignatureInvalid, match="not allowed"):
        checkpoint_key.verifier()(token)


def test_an_unknown_kid_is_refused(checkpoint_key: CheckpointKey) -> None:
    other = CheckpointKey(ECKey.generate_key("P-256"), "someone-else")
    with pytest.raises(SignatureInvalid, match="unknown kid"):
        checkpoint_key.verifier()(other.sign(CLAIMS))


def test_another_key_using_our_kid_is_refused(checkpoint_key: CheckpointKey) -> None:
    forger = CheckpointKey(ECKey.generate_key("P-256"), checkpoint_key.kid)
    with pytest.raises(SignatureInvalid, match="bad signature"):
        checkpoint_key.verifier()(forger.sign(CLAIMS))


def test_oversized_input_is_refused(checkpoint_key: CheckpointKey) -> None:
    token = checkpoint_key.sign({**CLAIMS, "padding": "x" * 20_000})
    with pytest.raises(SignatureInvalid, match="too large"):
        checkpoint_key.verifier()(token)


@pytest.mark.parametrize("token", ["", "a.b", "!!!.e30.", "bnVsbA.e30.AAAA"])
def test_malformed_tokens_are_refused(checkpoint_key: CheckpointKey, token: str) -> None:
    with pytest.raises(SignatureInvalid):
        checkpoint_key.verifier()(token)

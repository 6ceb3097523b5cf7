"""ID tokens of the sandbox, honest or forged according to the mode (joserfc for real
signatures; the forgeries are assembled by hand, as an attacker would)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def sign(key: RSAKey, claims: dict[str, Any], *, kid: str | None = None) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": kid or key.kid}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def forge(mode: str, key: RSAKey, claims: dict[str, Any]) -> str | None:
    """A forged token for the signature-related modes; None for the others."""
    if mode == "alg_none":
        return _segments({"alg": "none", "typ": "JWT", "kid": key.kid}, claims) + "."
    if mode == "bad_signature":
        return sign(RSAKey.generate_key(2048), claims, kid=key.kid)
    if mode == "unknown_kid":
        return sign(RSAKey.generate_key(2048, parameters={"kid": "never-published"}), claims)
    if mode == "embedded_jwk":
        attacker = RSAKey.generate_key(2048)
        header = {"alg": "RS256", "typ": "JWT", "jwk": attacker.as_dict(private=False)}
        return jwt.encode(header, claims, attacker, algorithms=["RS256"])
    if mode == "hmac_public_key":
        secret = key.as_pem(private=False)
        signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims)
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)
    return None


def id_token(mode: str, key: RSAKey, claims: dict[str, Any]) -> str:
    """The ID token the sandbox answers with in ``mode``."""
    forged = forge(mode, key, claims)
    return forged if forged is not None else sign(key, claims)

"""Verifying checkpoint signatures with a given set of public keys.

A strict, small JWS check: compact form only, at most 16 KiB, an allow-listed asymmetric ``alg``
that fits the key type, a ``kid`` that names one of the given keys, and no header that would let
the token choose its own key (``jwk``, ``jku``, ``x5u``, ``x5c``) or change processing (``crit``,
``b64``). Which keys are given is decided by :mod:`idp.audit.trust`: keys pinned outside the
database (never the ``signing_keys`` rows as such), retired ones included, since old checkpoints
were signed with them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from idp.errors import IdpError

MAX_TOKEN = 16 * 1024
ALG_KEY_TYPES = {"ES256": "EC", "ES384": "EC", "ES512": "EC", "RS256": "RSA", "RS384": "RSA",
                 "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA", "EdDSA": "OKP"}
FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit", "b64")


class SignatureInvalid(IdpError):
    """The checkpoint's signature does not verify (the message says why, without secrets)."""


class PublicKeyVerifier:
    """``verify(token) -> claims`` over a set of public JWKs (each with a ``kid``)."""

    def __init__(self, public_jwks: Iterable[dict[str, Any]]) -> None:
        self.keys = {jwk["kid"]: jwk for jwk in public_jwks if jwk.get("kid")}

    def __call__(self, token: str) -> dict[str, Any]:
        return self.verify(token)

    def verify(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN:
            raise SignatureInvalid("token too large")
        parts = token.split(".")
        if len(parts) != 3:
            raise SignatureInvalid("not a compact JWS")
        header = _decode_json(parts[0])
        alg = header.get("alg")
        if alg not in ALG_KEY_TYPES:
            raise SignatureInvalid(f"algorithm {str(alg)[:20]!r} not allowed")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise SignatureInvalid("header names its own key or extensions")
        jwk = self.keys.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
        if jwk is None:
            raise SignatureInvalid("unknown kid")
        if jwk.get("kty") != ALG_KEY_TYPES[alg] or jwk.get("alg", alg) != alg:
            raise SignatureInvalid("algorithm does not fit the key")
        public = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            key = JWKRegistry.import_key(public)
            obj = jws.deserialize_compact(token, key, algorithms=[alg])
        except (JoseError, ValueError) as exc:
            raise SignatureInvalid("bad signature") from exc
        claims = _loads(obj.payload)
        return claims


def token_kid(token: str) -> str | None:
    """The ``kid`` a compact JWS names in its header (unverified), or None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        return None
    try:
        kid = _decode_json(token.split(".", 1)[0]).get("kid")
    except SignatureInvalid:
        return None
    return kid if isinstance(kid, str) else None


def _decode_json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError as exc:
        raise SignatureInvalid("malformed header") from exc
    return _loads(raw)


def _loads(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureInvalid("malformed JSON") from exc
    if not isinstance(value, dict):
        raise SignatureInvalid("not a JSON object")
    return value

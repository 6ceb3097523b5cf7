"""Public JWKs (RFC 7517, RFC 7518 §6, RFC 8037 §2) and key IDs from thumbprints (RFC 7638).

Only public members are ever written; reading a JWK back refuses private members, so a stored
or published JWK can never smuggle a private key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from keys.algorithms import PublicKey

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(size, "big"))


def public_members(public_key: PublicKey) -> dict[str, str]:
    """The required public members of the key's JWK (the input of its thumbprint)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported")
        numbers = public_key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _uint(numbers.x, 32), "y": _uint(numbers.y, 32)}
    if isinstance(public_key, rsa.RSAPublicKey):
        rsa_numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": _uint(rsa_numbers.n), "e": _uint(rsa_numbers.e)}
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    raise ValueError("unsupported public key type")


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint of the required members, base64url: used as the ``kid``."""
    required = {k: members[k] for k in sorted(members) if k in ("kty", "crv", "x", "y", "n", "e")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode("ascii")
    return b64url(hashlib.sha256(canonical).digest())


def public_jwk(public_key: PublicKey, *, kid: str, alg: str) -> dict[str, str]:
    """The published JWK: public members plus ``kid``, ``alg`` and ``use: "sig"``."""
    return {**public_members(public_key), "kid": kid, "alg": alg, "use": "sig"}


def public_key_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    """Rebuild a public key from one of OUR stored JWKs; refuses private members and odd types."""
    if PRIVATE_MEMBERS & set(jwk):
        raise ValueError("a public JWK must not carry private members")
    kty = jwk.get("kty")
    if kty == "EC" and jwk.get("crv") == "P-256":
        x = int.from_bytes(b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(b64url_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    if kty == "RSA":
        n = int.from_bytes(b64url_decode(jwk["n"]), "big")
        e = int.from_bytes(b64url_decode(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    raise ValueError(f"unsupported JWK (kty={kty!r})")

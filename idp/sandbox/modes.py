"""Hostile modes of a sandbox upstream, for tests: each breaks one thing a relying party must
check. ``normal`` is the well-behaved provider."""

from __future__ import annotations

MODES: dict[str, str] = {
    "normal": "well-behaved",
    "bad_signature": "ID token signed by another key under the real kid",
    "wrong_aud": "ID token issued to another client",
    "wrong_issuer": "ID token from another issuer",
    "expired": "ID token expired half an hour ago",
    "alg_none": "unsigned ID token (alg: none)",
    "hmac_public_key": "ID token HMAC-signed with the public key as secret",
    "embedded_jwk": "ID token signed by a key carried in its own jwk header",
    "unknown_kid": "ID token signed by a key the JWKS never publishes",
    "wrong_nonce": "ID token with another nonce",
    "missing_personal_id": "no personal ID number in the ID token or userinfo",
    "userinfo_other_sub": "userinfo about another person",
    "slow": "token endpoint answers after slow_seconds",
    "down": "every endpoint answers 503",
}

"""Client secrets: generated with 256 bits of entropy, stored as SHA-256, compared in constant time.

A slow hash adds nothing for secrets this long (no dictionary to try) and would make every token
request pay for it; people's passwords use argon2id instead (idp.accounts.passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret_hash: str | None, presented: str) -> bool:
    expected = secret_hash or "sha256$" + "0" * 64
    ok = hmac.compare_digest(expected.encode(), hash_secret(presented).encode())
    return ok and secret_hash is not None

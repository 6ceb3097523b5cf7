"""Recovery codes: ten single-use codes of 80 random bits, shown once, stored as SHA-256 hashes
(their entropy makes a slow hash unnecessary) and compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COUNT = 10


def new_codes(count: int = COUNT) -> list[str]:
    """Codes like ``k7q2-m4xa-9fde-wr3b`` (base32 lower-case, 80 bits)."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def normalise(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise(code).encode("ascii", "ignore")).hexdigest()


def find_code(hashes: list[str], code: str) -> int | None:
    """Index of the matching stored hash, or None (every hash is compared)."""
    candidate = hash_code(code)
    found = None
    for index, stored in enumerate(hashes):
        if hmac.compare_digest(stored, candidate):
            found = index
    return found

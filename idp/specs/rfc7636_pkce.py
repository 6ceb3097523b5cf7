"""PKCE (RFC 7636) for the requests this provider makes as a client (upstream sign-in, sandbox)."""

from __future__ import annotations

import base64
import hashlib


def s256_code_challenge(code_verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()

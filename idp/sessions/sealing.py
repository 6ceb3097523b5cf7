"""Sealing a session's upstream record at rest (the upstream ID token, kept for upstream logout,
carries the personal ID number for VNeID): AES-256-GCM as factor secrets are sealed
(:mod:`idp.mfa.sealing`), under a key of its own derived from the key-encryption key, with the
session id as associated data (a sealed record copied into another session does not open)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.mfa.sealing import SealError, open_secret, seal_secret

SEALED = "sealed"


def derive_session_key(kek: bytes) -> bytes:
    """The 32-byte key that seals session secrets, derived from the KEK (never equal to the keys
    that seal signing keys or factor secrets: its own HKDF ``info``)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vn-idp session secrets v1").derive(kek)


def seal_upstream(key: bytes | None, session_id: str, upstream: dict[str, Any]) -> dict[str, Any]:
    """What the store keeps of ``upstream``: ``{"sealed": ...}``, or nothing at all when it is empty
    or there is no key (it is never kept readable; upstream logout is then not offered)."""
    if not upstream or key is None:
        return {}
    return {SEALED: seal_secret(key, session_id, json.dumps(upstream, separators=(",", ":")).encode())}


def open_upstream(key: bytes | None, session_id: str, kept: dict[str, Any] | None) -> dict[str, Any]:
    """The upstream record :func:`seal_upstream` kept; empty when there is none or it does not open
    (another key, another session, damaged)."""
    sealed = (kept or {}).get(SEALED)
    if key is None or not isinstance(sealed, str):
        return {}
    try:
        opened = json.loads(open_secret(key, session_id, sealed))
    except (SealError, ValueError):
        return {}
    return opened if isinstance(opened, dict) else {}

"""Encryption of factor secrets at rest: AES-256-GCM with a key derived from the key-encryption
key (HKDF-SHA256, its own ``info``, so it never equals the key that seals signing keys) and the
account id as associated data, so a sealed secret copied to another account does not open."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.errors import IdpError

VERSION = b"\x01"
NONCE_BYTES = 12


class SealError(IdpError):
    """A sealed secret could not be opened (wrong key, wrong account, damaged)."""


def derive_factor_key(kek: bytes) -> bytes:
    """The 32-byte key that seals factor secrets, derived from the KEK (keys/kek.py load_kek)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vn-idp factor secrets v1").derive(kek)


def seal_secret(key: bytes, account_id: str, plaintext: bytes) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    blob = VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, account_id.encode("utf-8"))
    return base64.urlsafe_b64encode(blob).decode("ascii")


def open_secret(key: bytes, account_id: str, sealed: str) -> bytes:
    try:
        blob = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SealError("damaged sealed secret") from None
    if not blob.startswith(VERSION) or len(blob) < 1 + NONCE_BYTES + 16:
        raise SealError("unknown sealed-secret format")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], account_id.encode("utf-8"))
    except InvalidTag:
        raise SealError("sealed secret does not open with this key for this account") from None

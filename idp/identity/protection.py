"""How a personal ID number is kept: a keyed hash to find the person (HMAC-SHA256, so a
database dump cannot be searched by trying every 12-digit number without the key) and an
AES-256-GCM ciphertext to show the number to relying parties that may receive it. Never plain.

Both keys come from the key-encryption key through HKDF-SHA256 with their own labels, so the
hash key and the encryption key are independent and neither is the KEK itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENC_PREFIX = "v1."
AAD = b"vn-idp:subjects.personal_id_enc:v1"


@dataclass(frozen=True)
class IdentityKeys:
    hash_key: bytes
    enc_key: bytes


def derive_identity_keys(kek: bytes) -> IdentityKeys:
    """The two personal-ID keys derived from the key-encryption key."""

    def derive(label: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(kek)

    return IdentityKeys(derive(b"vn-idp personal-id hash v1"), derive(b"vn-idp personal-id enc v1"))


def personal_id_hash(number: str, hash_key: bytes) -> str:
    """Hex HMAC-SHA256 of the number (what ``subjects.personal_id_hash`` holds)."""
    if len(hash_key) < 32:
        raise ValueError("the personal-ID hash key must have at least 32 bytes")
    return hmac.new(hash_key, number.encode("ascii"), hashlib.sha256).hexdigest()


def encrypt_personal_id(number: str, enc_key: bytes) -> str:
    """``v1.`` + base64url(nonce | AES-GCM ciphertext)."""
    nonce = os.urandom(12)
    sealed = AESGCM(enc_key).encrypt(nonce, number.encode("ascii"), AAD)
    return ENC_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt_personal_id(value: str, enc_key: bytes) -> str:
    """The number back from :func:`encrypt_personal_id`; ValueError when it cannot be opened."""
    if not value.startswith(ENC_PREFIX):
        raise ValueError("unknown personal-ID encryption format")
    try:
        raw = base64.urlsafe_b64decode(value[len(ENC_PREFIX) :].encode("ascii"))
        return AESGCM(enc_key).decrypt(raw[:12], raw[12:], AAD).decode("ascii")
    except (InvalidTag, ValueError, UnicodeError):
        raise ValueError("the personal ID number cannot be decrypted with this key") from None

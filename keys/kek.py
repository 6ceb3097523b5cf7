"""The key-encryption key (KEK) that seals software private keys at rest.

AES-256-GCM with a fresh 96-bit nonce per seal and the ``kid`` as associated data, so a sealed
key moved to another row does not open. Blob layout: version byte 0x01 | nonce (12) | ciphertext+tag.

The KEK comes from ``IDP_KEY_ENCRYPTION_KEY`` (urlsafe base64 of 32 bytes) or, in the embedded
default, from ``<data_dir>/kek`` (mode 0600), which is generated only when the database holds no
software key yet: a missing KEK never leads to new keys over old ones.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.settings import Settings
from keys.errors import KeyConfigError

KEK_BYTES = 32
NONCE_BYTES = 12
BLOB_VERSION = b"\x01"
KEK_FILE_NAME = "kek"


def decode_kek(text: str, *, source: str = "IDP_KEY_ENCRYPTION_KEY") -> bytes:
    """Decode a urlsafe-base64 KEK; KeyConfigError (naming ``source``) when it is not 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEK_BYTES:
        raise KeyConfigError(
            f"Khóa mã hóa khóa ({source}) không hợp lệ: cần 32 byte mã hóa base64url. "
            f"/ {source} must hold urlsafe base64 of 32 bytes."
        )
    return raw


def encode_kek(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def kek_file(settings: Settings) -> Path:
    return settings.data_dir / KEK_FILE_NAME


def load_kek(settings: Settings, *, sealed_keys_exist: bool) -> bytes:
    """The KEK from the setting or the file; generate the file only when nothing is sealed yet."""
    if settings.key_encryption_key is not None:
        return decode_kek(settings.key_encryption_key.get_secret_value())
    path = kek_file(settings)
    if path.exists():
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyConfigError(
                f"Tệp khóa mã hóa khóa {path} có quyền truy cập quá rộng (cần 0600). "
                f"/ {path} is readable by others: chmod 600 it."
            )
        return decode_kek(path.read_text(encoding="ascii"), source=str(path))
    if sealed_keys_exist:
        raise KeyConfigError(
            "Thiếu khóa mã hóa khóa: cơ sở dữ liệu có khóa ký đã mã hóa nhưng không có "
            f"IDP_KEY_ENCRYPTION_KEY hay tệp {path}; không tạo khóa mới đè lên khóa cũ. "
            "/ Missing key-encryption key for the stored signing keys; set IDP_KEY_ENCRYPTION_KEY."
        )
    return _create_kek_file(path)


def _create_kek_file(path: Path) -> bytes:
    """Write a new KEK atomically: a complete temporary file, then a hard link that fails if
    another process of this deployment created the file first (then its key is used)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = secrets.token_bytes(KEK_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encode_kek(raw) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return decode_kek(path.read_text(encoding="ascii"), source=str(path))
    finally:
        temporary.unlink(missing_ok=True)
    return raw


def seal(kek: bytes, kid: str, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` (a private key) bound to ``kid``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return BLOB_VERSION + nonce + AESGCM(kek).encrypt(nonce, plaintext, kid.encode("utf-8"))


def unseal(kek: bytes, kid: str, blob: bytes) -> bytes:
    """Decrypt a sealed private key; KeyConfigError when the KEK (or the kid) does not match."""
    if not blob.startswith(BLOB_VERSION) or len(blob) < 1 + NONCE_BYTES + 16:
        raise KeyConfigError(f"Khóa ký {kid} lưu sai định dạng. / Signing key {kid} is stored in an unknown format.")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, kid.encode("utf-8"))
    except InvalidTag:
        raise KeyConfigError(
            "Khóa mã hóa khóa sai: không giải mã được khóa ký đã lưu; không tạo khóa mới đè lên. "
            "/ Wrong key-encryption key: the stored signing keys cannot be decrypted "
            "(check IDP_KEY_ENCRYPTION_KEY or <data_dir>/kek)."
        ) from None

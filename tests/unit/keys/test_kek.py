"""Software keys at rest: sealed under the KEK; a wrong or missing KEK stops start-up."""

from __future__ import annotations

import base64
import os
import secrets
import stat

import pytest

from idp.settings import Settings
from keys import KeyConfigError, open_key_ring
from keys.kek import seal, unseal


def kek_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def test_embedded_default_writes_an_owner_only_kek_file(sqlite_storage, key_settings, audit) -> None:
    open_key_ring(key_settings, sqlite_storage, audit)
    kek_file = key_settings.data_dir / "kek"
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    record = sqlite_storage.keys.list()[0]
    assert record.private_key_enc and b"PRIVATE" not in record.private_key_enc
    assert record.private_key_enc[1 + 12 :] != record.public_jwk  # sealed, not plain DER


def test_missing_kek_file_with_stored_keys_stops_and_generates_nothing(sqlite_storage, key_settings,
                                                                       audit) -> None:
    open_key_ring(key_settings, sqlite_storage, audit)
    before = [r.kid for r in sqlite_storage.keys.list()]
    (key_settings.data_dir / "kek").unlink()
    with pytest.raises(KeyConfigError, match="IDP_KEY_ENCRYPTION_KEY"):
        open_key_ring(key_settings, sqlite_storage, audit)
    assert [r.kid for r in sqlite_storage.keys.list()] == before
    assert not (key_settings.data_dir / "kek").exists()


def test_wrong_kek_stops_with_one_clear_message(storage, tmp_path, audit) -> None:
    first = Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256"], key_encryption_key=kek_text())
    open_key_ring(first, storage, audit)
    before = len(storage.keys.list())
    wrong = Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256"], key_encryption_key=kek_text())
    with pytest.raises(KeyConfigError) as caught:
        open_key_ring(wrong, storage, audit)
    assert "Khóa mã hóa khóa sai" in str(caught.value) and "Wrong key-encryption key" in str(caught.value)
    assert len(storage.keys.list()) == before
    assert open_key_ring(first, storage, audit).signer().alg == "ES256"


def test_malformed_kek_setting_is_refused(sqlite_storage, tmp_path, audit) -> None:
    settings = Settings(data_dir=tmp_path / "var", key_encryption_key="too-short")
    with pytest.raises(KeyConfigError, match="32 byte"):
        open_key_ring(settings, sqlite_storage, audit)


def test_kek_file_readable_by_others_is_refused(sqlite_storage, key_settings, audit) -> None:
    open_key_ring(key_settings, sqlite_storage, audit)
    os.chmod(key_settings.data_dir / "kek", 0o644)
    with pytest.raises(KeyConfigError, match="chmod 600"):
        open_key_ring(key_settings, sqlite_storage, audit)


def test_sealed_key_is_bound_to_its_kid() -> None:
    kek = secrets.token_bytes(32)
    blob = seal(kek, "kid-a", b"private key bytes")
    assert unseal(kek, "kid-a", blob) == b"private key bytes"
    with pytest.raises(KeyConfigError):
        unseal(kek, "kid-b", blob)

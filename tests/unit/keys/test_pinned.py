"""Which database keys the key store vouches for (``keys.pinned``), software and SoftHSM2."""

from __future__ import annotations

from pathlib import Path

from idp.settings import Settings
from idp.storage.sql import SqlStorage
from keys import open_key_ring, software
from keys.pinned import keystore_view
from tests.unit.keys.conftest import RecordingAuditLog
from tests.unit.keys.softhsm import SoftHsm


def test_only_rows_that_open_under_the_kek_are_pinned(sqlite_storage: SqlStorage, key_settings: Settings,
                                                      audit: RecordingAuditLog) -> None:
    open_key_ring(key_settings, sqlite_storage, audit).close()
    current = next(r for r in sqlite_storage.keys.list() if r.state == "current")
    stranger = software.generate("ES256")
    # A database writer: their public key in our current row, and a row of their own carrying a
    # copy of our sealed private key (it is bound to our kid, so it does not open under theirs).
    sqlite_storage.keys.update(current.kid, lambda r: r.replace(public_jwk={**stranger.public_jwk(),
                                                                            "kid": current.kid}))
    sqlite_storage.keys.add(current.replace(kid=stranger.kid, state="withdrawn", public_jwk=stranger.public_jwk()))

    view = keystore_view(key_settings, sqlite_storage.keys.list())
    pinned = {record.kid: jwk for record, jwk in view.pinned}
    assert current.kid in pinned and pinned[current.kid]["x"] == current.public_jwk["x"]  # the real key
    assert pinned[current.kid]["x"] != stranger.public_jwk()["x"]
    assert view.unpinned == {stranger.kid: "it does not open in the software key store"}


def test_without_the_kek_nothing_is_pinned_and_no_kek_is_made(sqlite_storage: SqlStorage, key_settings: Settings,
                                                              audit: RecordingAuditLog, tmp_path: Path) -> None:
    open_key_ring(key_settings, sqlite_storage, audit).close()
    elsewhere = Settings(data_dir=tmp_path / "elsewhere", signing_algorithms=["ES256"])
    view = keystore_view(elsewhere, sqlite_storage.keys.list())
    assert view.pinned == [] and len(view.unpinned) == 2
    assert all("cannot be opened here" in why for why in view.unpinned.values())
    assert not (tmp_path / "elsewhere" / "kek").exists()


def test_hsm_keys_are_pinned_by_the_token(sqlite_storage: SqlStorage, softhsm: SoftHsm, tmp_path: Path,
                                          audit: RecordingAuditLog) -> None:
    settings = softhsm.settings(tmp_path / "var", signing_algorithms=["ES256"])
    open_key_ring(settings, sqlite_storage, audit).close()
    records = sqlite_storage.keys.list()
    stranger = software.generate("ES256")
    # A row naming one of our token's labels under the stranger's kid: the thumbprint differs.
    sqlite_storage.keys.add(records[0].replace(kid=stranger.kid, public_jwk=stranger.public_jwk(), state="withdrawn"))

    view = keystore_view(settings, sqlite_storage.keys.list())
    assert {record.kid for record, _ in view.pinned} == {r.kid for r in records}
    assert list(view.unpinned) == [stranger.kid]
    assert set(keystore_view(Settings(data_dir=tmp_path / "var"), records).unpinned.values()) == {
        "no 'pkcs11' key store is configured here"}

"""Rotating the key-encryption key: signing keys, second factors (an account's and a person's) and
personal ID numbers are sealed again under the new key, on SQLite and PostgreSQL; a rotation cut
short finishes when run again; the person is still found by the number; ``idp kek rotate`` prints
its progress on stderr, refuses without a fixed pairwise salt, and the provider starts with the new
key only."""

from __future__ import annotations

import secrets
from pathlib import Path

import pyotp
import pytest

from adapters.base import Identity
from idp.audit.sql import SqlAuditLog
from idp.cli import main
from idp.identity.linking import link_identity
from idp.identity.protection import decrypt_personal_id, derive_identity_keys
from idp.mfa.sealing import derive_factor_key, open_secret
from idp.mfa.totp import TotpService
from idp.runtime import Runtime
from idp.security.kek_rotation import KekRotation, RotationFailed
from idp.server import open_provider
from idp.settings import load_settings
from idp.storage.models import SigningKeyRecord, Subject
from idp.storage.schema import identity_links
from idp.storage.sql import SqlStorage
from keys.errors import KeyConfigError
from keys.kek import encode_kek, seal, unseal
from tests.fakes import FakeClock, RecordingAudit

NUMBER = "049085001234"
OLD, NEW = secrets.token_bytes(32), secrets.token_bytes(32)


def upstream_person() -> Identity:  # an upstream that uses the number as its sub: linked by the number's hash
    return Identity(subject=NUMBER, adapter_id="vneid", issuer="https://vneid.test", auth_time=0,
                    claims={"vn_personal_id": NUMBER, "name": "Nguyễn Văn An"})


def link(storage: SqlStorage, kek: bytes) -> Subject:
    keys = derive_identity_keys(kek)
    return link_identity(storage, upstream_person(), hash_key=keys.hash_key, enc_key=keys.enc_key,
                         audit=SqlAuditLog(storage.db))


def test_everything_sealed_is_sealed_again(storage: SqlStorage, ephemeral: object) -> None:
    storage.keys.add(SigningKeyRecord(kid="k1", alg="ES256", backend="software", state="current", public_jwk={},
                               private_key_enc=seal(OLD, "k1", b"private key DER")))
    person = link(storage, OLD)
    storage.subjects.add(Subject(id="sub-official", kind="person", claims={}))
    clock = FakeClock(1_750_000_005.0)
    totp = TotpService(storage, ephemeral, derive_factor_key(OLD), RecordingAudit(), clock=clock)  # type: ignore[arg-type]
    holder = totp.holder_id("sub-official")
    enrolment = totp.begin_enrolment(holder, label="an.nguyen")
    totp.confirm_enrolment(holder, pyotp.TOTP(enrolment.secret).at(clock.now))
    pending = totp.begin_enrolment(holder, auth_time=int(clock.now), label="an.nguyen")  # a new one, unconfirmed

    rotation = KekRotation(storage.db, OLD, NEW)
    rotation.signing_keys()  # cut short after the signing keys
    with pytest.raises(KeyConfigError):
        unseal(OLD, "k1", storage.keys.get("k1").private_key_enc or b"")

    seen: list[tuple[str, int, int]] = []
    report = KekRotation(storage.db, OLD, NEW, lambda *step: seen.append(step)).run()  # run again: finishes
    assert report.already == {"signing keys": 1}
    assert report.resealed == {"second factors": 1, "personal ID numbers": 1}
    assert ("personal ID numbers", 1, 1) in seen

    assert unseal(NEW, "k1", storage.keys.get("k1").private_key_enc or b"") == b"private key DER"
    factors = totp.holders.get(holder)
    assert factors is not None
    new_key = derive_factor_key(NEW)
    assert open_secret(new_key, holder, factors.extra["totp"]["secret"]).decode() == enrolment.secret
    assert open_secret(new_key, holder, factors.extra["totp_pending"]["secret"]).decode() == pending.secret
    stored = storage.subjects.get(person.id)
    assert stored is not None and decrypt_personal_id(stored.personal_id_enc or "", derive_identity_keys(NEW).enc_key) \
        == NUMBER
    assert link(storage, NEW).id == person.id  # found again by the number's new hash: no second person
    with storage.db.connect() as conn:
        assert len(conn.execute(identity_links.select()).all()) == 1

    assert KekRotation(storage.db, OLD, NEW).run().resealed == {}  # nothing left to do
    with pytest.raises(RotationFailed, match="neither"):  # a third key opens nothing
        KekRotation(storage.db, secrets.token_bytes(32), secrets.token_bytes(32)).run()


def test_idp_kek_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("IDP_DATABASE_URL", "IDP_ADAPTERS_FILE", "IDP_REDIS_URL", "IDP_PAIRWISE_SALT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IDP_KEY_ENCRYPTION_KEY", encode_kek(OLD))
    runtime = Runtime.open(load_settings())
    provider = open_provider(runtime)  # makes the signing keys, sealed under the old key
    kids = sorted(record.kid for record in runtime.storage.keys.list())
    provider.ring.close()
    provider.audit.close()
    runtime.close()
    new_file = tmp_path / "new.kek"

    assert main(["kek", "rotate", "--new-key-file", str(new_file), "--generate"]) == 1
    assert "IDP_PAIRWISE_SALT" in capsys.readouterr().err and not new_file.exists()

    monkeypatch.setenv("IDP_PAIRWISE_SALT", "a-salt-fixed-at-installation-0123456789")
    assert main(["kek", "rotate", "--new-key-file", str(new_file), "--generate"]) == 0
    err = capsys.readouterr().err
    assert f"kek rotate: signing keys {len(kids)}/{len(kids)}" in err and "done" in err
    assert new_file.stat().st_mode & 0o077 == 0
    assert main(["kek", "rotate", "--new-key-file", str(new_file), "--generate"]) == 1  # never overwrites

    with pytest.raises(KeyConfigError):  # the old key opens nothing any more
        open_provider(Runtime.open(load_settings()))
    monkeypatch.setenv("IDP_KEY_ENCRYPTION_KEY", new_file.read_text().strip())
    runtime = Runtime.open(load_settings())
    provider = open_provider(runtime)
    try:
        assert sorted(record.kid for record in runtime.storage.keys.list()) == kids  # the same keys, no new ones
        assert provider.ring.signer(None).kid in kids
    finally:
        provider.ring.close()
        provider.audit.close()
        runtime.close()

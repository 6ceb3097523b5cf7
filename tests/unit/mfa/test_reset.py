"""An administrator's reset of a person's second factors, for someone without a local account (a
directory official, an upstream person): their TOTP factor, recovery codes and passkeys go in one
recorded change that names the operator; what else their factor row holds stays; a local account
is reset as an account; an unknown name is NotFound."""

from __future__ import annotations

import secrets

import pyotp
import pytest

from idp.accounts.service import create_local_account
from idp.errors import NotFound
from idp.mfa.reset import SecondFactorReset, find_person
from idp.mfa.sealing import derive_factor_key
from idp.mfa.totp import TotpService
from idp.storage.models import Passkey, Subject
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore
from tests.fakes import FakeClock, RecordingAudit

OFFICIAL = "sub-official-7"


def passkey(n: int, subject_id: str = OFFICIAL) -> Passkey:
    return Passkey(id=f"p{n}", subject_id=subject_id, credential_id=f"cred-{subject_id}-{n}", public_key=b"cose",
                   sign_count=0, aaguid="00000000-0000-0000-0000-000000000000", backed_up=False, name=f"Khoá {n}")


def test_an_officials_totp_recovery_codes_and_passkeys_go(storage: SqlStorage, ephemeral: object) -> None:
    storage.subjects.add(Subject(id=OFFICIAL, kind="person", claims={"name": "Trần Thị Bình"}))
    clock = FakeClock(1_750_000_005.0)
    totp = TotpService(storage, ephemeral, derive_factor_key(secrets.token_bytes(32)), RecordingAudit(),  # type: ignore[arg-type]
                       clock=clock)
    holder = totp.holder_id(OFFICIAL)
    enrolment = totp.begin_enrolment(holder, label="binh.tran")
    totp.confirm_enrolment(holder, pyotp.TOTP(enrolment.secret).at(clock.now))
    totp.holders.update(holder, lambda extra: {**extra, "recovery": {"codes": ["h"]}, "note": "kept"})
    factors = SqlFactorStore(storage.db)
    for n in (1, 2):
        factors.add_passkey(passkey(n))
    storage.subjects.add(Subject(id="sub-someone-else", kind="person", claims={}))
    factors.add_passkey(passkey(3, subject_id="sub-someone-else"))

    audit = RecordingAudit()
    made = SecondFactorReset(storage, audit).reset(find_person(storage, OFFICIAL).id, actor="official:an.nguyen")
    assert (made.holder, made.totp_removed, made.recovery_codes_removed, made.passkeys_removed) == (
        "person", True, True, 2)
    assert not totp.is_enrolled(holder) and not totp.has_recovery_codes(holder)
    assert factors.passkeys_of(OFFICIAL) == [] and len(factors.passkeys_of("sub-someone-else")) == 1
    person = factors.person(OFFICIAL)
    assert person is not None and person.extra == {"note": "kept"}
    (event,) = audit.events
    assert event.type == "mfa.totp.removed" and event.subject == OFFICIAL
    assert event.details == {"action": "mfa.reset", "actor": "official:an.nguyen", "holder": "person", "totp": True,
                             "recovery_codes": True, "passkeys_removed": 2}


def test_a_person_without_factors_gets_no_factor_row(storage: SqlStorage) -> None:
    storage.subjects.add(Subject(id=OFFICIAL, kind="person", claims={}))
    made = SecondFactorReset(storage, RecordingAudit()).reset(OFFICIAL, actor="cli:root")
    assert (made.totp_removed, made.passkeys_removed) == (False, 0)
    assert SqlFactorStore(storage.db).person(OFFICIAL) is None


def test_a_local_account_is_reset_as_an_account(storage: SqlStorage) -> None:
    account = create_local_account(storage, "hoa.le", "Núi Ngũ Hành Sơn buổi sớm")
    storage.accounts.update(account.id, lambda a: a.replace(
        extra={**a.extra, "totp": {"secret": "sealed", "confirmed": True, "recovery": ["h1"]}},
        has_second_factor=True))
    SqlFactorStore(storage.db).add_passkey(passkey(1, subject_id=account.subject_id))
    audit = RecordingAudit()
    made = SecondFactorReset(storage, audit).reset(find_person(storage, "HOA.LE").id, actor="cli:root")
    assert (made.holder, made.totp_removed, made.recovery_codes_removed, made.passkeys_removed) == (
        "account", True, True, 1)
    after = storage.accounts.get(account.id)
    assert after is not None and not after.has_second_factor
    assert [e.details["passkeys_removed"] for e in audit.events] == [1]


def test_an_unknown_name_is_not_found(storage: SqlStorage) -> None:
    for name in ("khong.ai", "", "x" * 300):
        with pytest.raises(NotFound):
            find_person(storage, name)

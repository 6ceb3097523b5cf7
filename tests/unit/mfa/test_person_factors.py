"""A person without a local account (a directory official) holds a TOTP factor of their own: enrolled,
verified, recovered and removed like an account's, sealed to them, kept apart from accounts."""

from __future__ import annotations

import secrets

import pyotp
import pytest

from idp.mfa.holders import PERSON_PREFIX
from idp.mfa.sealing import SealError, derive_factor_key, open_secret
from idp.mfa.totp import NotEnrolled, TotpService
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage
from tests.fakes import FakeClock, RecordingAudit


@pytest.fixture
def official(storage: SqlStorage, ephemeral: object) -> tuple[TotpService, str, FakeClock, RecordingAudit, bytes]:
    storage.subjects.add(Subject(id="sub-official-1", kind="person", claims={"name": "Nguyễn Văn An"}))
    clock, audit, key = FakeClock(1_750_000_005.0), RecordingAudit(), derive_factor_key(secrets.token_bytes(32))
    service = TotpService(storage, ephemeral, key, audit, clock=clock)  # type: ignore[arg-type]
    return service, service.holder_id("sub-official-1"), clock, audit, key


def test_a_directory_official_enrols_and_uses_totp(official: tuple, storage: SqlStorage) -> None:
    service, holder, clock, audit, key = official
    assert holder == PERSON_PREFIX + "sub-official-1"  # no local account: the person holds it
    assert not service.is_enrolled(holder)
    enrolment = service.begin_enrolment(holder, label="an.nguyen")
    assert "an.nguyen" in enrolment.provisioning_uri
    codes = service.confirm_enrolment(holder, pyotp.TOTP(enrolment.secret).at(clock.now))
    assert service.is_enrolled(holder) and len(codes) == 10
    assert storage.accounts.get_by_subject("sub-official-1") is None  # no account was made for it
    person = service.holders.factors.person("sub-official-1")
    assert person is not None and person.username == "an.nguyen"
    assert enrolment.secret not in str(person.extra)  # sealed at rest
    with pytest.raises(SealError):  # sealed to this person: does not open as another's
        open_secret(key, PERSON_PREFIX + "sub-other", person.extra["totp"]["secret"])
    clock.now += 30
    assert service.verify(holder, pyotp.TOTP(enrolment.secret).at(clock.now))
    assert service.use_recovery_code(holder, codes[0]) and not service.use_recovery_code(holder, codes[0])
    service.remove(holder, auth_time=int(clock.now))
    assert not service.is_enrolled(holder)
    assert [e.type for e in audit.events] == ["mfa.totp.enrolled", "mfa.recovery_code.used", "mfa.totp.removed"]
    assert {e.subject for e in audit.events} == {"sub-official-1"}


def test_an_unknown_person_has_no_factor(official: tuple) -> None:
    service = official[0]
    assert service.holders.get(PERSON_PREFIX + "nobody") is None
    with pytest.raises(NotEnrolled):
        service.verify(PERSON_PREFIX + "nobody", "123456")

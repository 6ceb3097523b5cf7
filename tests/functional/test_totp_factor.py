"""TOTP second factor: enrolment with a server-rendered QR code, ±1 step, a used code refused,
recovery codes once each, removal only after a recent sign-in, secrets sealed at rest."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from idp.accounts.service import create_local_account
from idp.mfa.sealing import SealError, derive_factor_key, open_secret
from idp.mfa.totp import ACR_LOCAL_MFA, AMR_MFA, AMR_OTP, STEP, ReauthenticationRequired, TotpError, TotpService
from idp.storage.sql import SqlStorage
from tests.fakes import FakeClock, RecordingAudit


@pytest.fixture
def setup(storage: SqlStorage, ephemeral: object) -> tuple[TotpService, str, FakeClock, RecordingAudit]:
    account = create_local_account(storage, "hoa.le", "Núi Ngũ Hành Sơn buổi sớm", name="Lê Thị Hoa")
    clock, audit = FakeClock(1_750_000_005.0), RecordingAudit()
    service = TotpService(storage, ephemeral, derive_factor_key(secrets.token_bytes(32)), audit,  # type: ignore[arg-type]
                          clock=clock)
    return service, account.id, clock, audit


def enrol(service: TotpService, account_id: str, clock: FakeClock) -> tuple[pyotp.TOTP, list[str]]:
    enrolment = service.begin_enrolment(account_id)
    app = pyotp.TOTP(enrolment.secret)
    codes = service.confirm_enrolment(account_id, app.at(clock.now))
    return app, codes


def test_enrolment_shows_a_qr_code_and_needs_a_first_code(setup: tuple, storage: SqlStorage) -> None:
    service, account_id, clock, audit = setup
    enrolment = service.begin_enrolment(account_id)
    assert enrolment.qr_data_uri.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(enrolment.qr_data_uri.split(",", 1)[1])
    uri = urlsplit(enrolment.provisioning_uri)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [enrolment.secret]
    assert not service.is_enrolled(account_id)  # not before a first code
    with pytest.raises(TotpError):
        service.confirm_enrolment(account_id, "000000" if pyotp.TOTP(enrolment.secret).at(clock.now) != "000000"
                                  else "111111")
    codes = service.confirm_enrolment(account_id, pyotp.TOTP(enrolment.secret).at(clock.now))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert service.is_enrolled(account_id)
    account = storage.accounts.get(account_id)
    assert account is not None and account.has_second_factor
    stored = str(account.extra)
    assert enrolment.secret not in stored and not any(c in stored for c in codes)  # sealed and hashed
    assert [e.type for e in audit.events] == ["mfa.totp.enrolled"]


def test_code_is_accepted_one_step_either_side_only(setup: tuple) -> None:
    service, account_id, clock, _ = setup
    app, _ = enrol(service, account_id, clock)
    clock.now += 10 * STEP
    assert service.verify(account_id, app.at(clock.now - STEP))
    assert service.verify(account_id, app.at(clock.now + STEP))
    assert not service.verify(account_id, app.at(clock.now - 2 * STEP))
    assert not service.verify(account_id, app.at(clock.now + 2 * STEP))
    assert not service.verify(account_id, "12345")  # wrong shape


def test_a_used_code_is_refused(setup: tuple) -> None:
    service, account_id, clock, _ = setup
    app, _ = enrol(service, account_id, clock)
    clock.now += 5 * STEP
    code = app.at(clock.now)
    assert service.verify(account_id, code)
    assert not service.verify(account_id, code)
    clock.now += STEP  # still inside the window, still refused
    assert not service.verify(account_id, code)
    assert service.verify(account_id, app.at(clock.now))


def test_recovery_codes_work_once_each(setup: tuple) -> None:
    service, account_id, clock, audit = setup
    _, codes = enrol(service, account_id, clock)
    assert service.use_recovery_code(account_id, codes[3].upper().replace("-", " "))
    assert not service.use_recovery_code(account_id, codes[3])
    assert not service.use_recovery_code(account_id, "aaaa-bbbb-cccc-dddd")
    assert service.use_recovery_code(account_id, codes[0])
    assert [e.type for e in audit.events].count("mfa.recovery_code.used") == 2


def test_removal_and_replacement_need_a_recent_sign_in(setup: tuple, storage: SqlStorage) -> None:
    service, account_id, clock, audit = setup
    enrol(service, account_id, clock)
    with pytest.raises(ReauthenticationRequired):
        service.remove(account_id, auth_time=int(clock.now) - 3600)
    with pytest.raises(ReauthenticationRequired):
        service.begin_enrolment(account_id)
    assert service.is_enrolled(account_id)
    service.remove(account_id, auth_time=int(clock.now) - 60)
    assert not service.is_enrolled(account_id)
    account = storage.accounts.get(account_id)
    assert account is not None and not account.has_second_factor
    assert audit.events[-1].type == "mfa.totp.removed"


def test_sealed_secret_does_not_open_for_another_account_or_key(setup: tuple, storage: SqlStorage) -> None:
    service, account_id, clock, _ = setup
    enrol(service, account_id, clock)
    account = storage.accounts.get(account_id)
    assert account is not None
    sealed = account.extra["totp"]["secret"]
    with pytest.raises(SealError):
        open_secret(service.key, "another-account", sealed)
    with pytest.raises(SealError):
        open_secret(derive_factor_key(b"\x00" * 32), account_id, sealed)


def test_assurance_constants() -> None:
    assert (ACR_LOCAL_MFA, AMR_OTP, AMR_MFA) == ("local-mfa", "otp", "mfa")

"""Passkeys: registration and authentication ceremonies checked by the webauthn library (user
verification required, single-use challenges, this origin only), a counter going back refused and
audited, several named passkeys per person, the AAGUID allow-list, removal after a recent sign-in."""

from __future__ import annotations

import json

import pytest

from idp.mfa.passkeys import PasskeyError, PasskeyService, amr_of
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore
from tests.fakes import FakeClock, RecordingAudit
from tests.unit.mfa.authenticator import SoftAuthenticator

ISSUER = "https://id.example.gov.vn"
SUBJECT = "sub-official-7"


@pytest.fixture
def service(storage: SqlStorage, ephemeral: object) -> PasskeyService:
    storage.subjects.add(Subject(id=SUBJECT, kind="person", claims={}))
    return PasskeyService(SqlFactorStore(storage.db), ephemeral, RecordingAudit(), issuer=ISSUER,  # type: ignore[arg-type]
                          clock=FakeClock(1_750_000_000.0))


def authenticator(**kwargs: object) -> SoftAuthenticator:
    return SoftAuthenticator(origin=ISSUER, rp_id="id.example.gov.vn", **kwargs)  # type: ignore[arg-type]


def register(service: PasskeyService, device: SoftAuthenticator, name: str = "Khoá của tôi") -> str:
    options = service.registration_options("c1", SUBJECT, "an.nguyen", "Nguyễn Văn An")
    return service.register("c1", SUBJECT, device.create(options), name).id


def test_register_asks_for_a_resident_verified_credential_then_it_signs_in(service: PasskeyService) -> None:
    device = authenticator()
    options = json.loads(service.registration_options("c1", SUBJECT, "an.nguyen", "Nguyễn Văn An"))
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none" and options["rp"]["id"] == "id.example.gov.vn"
    passkey = service.register("c1", SUBJECT, device.create(json.dumps(options)), "  Khoá   USB ")
    assert passkey.name == "Khoá USB" and [p.id for p in service.of(SUBJECT)] == [passkey.id]
    assert [e.type for e in service.audit.events] == ["mfa.passkey.enrolled"]  # type: ignore[attr-defined]

    request = service.authentication_options("a1", None)  # username-less: any discoverable credential
    assert json.loads(request)["allowCredentials"] == [] and json.loads(request)["userVerification"] == "required"
    used = service.authenticate("a1", device.get(request))
    assert used.subject_id == SUBJECT and used.amr == ("hwk", "user", "pin", "mfa")
    stored = service.of(SUBJECT)[0]
    assert stored.sign_count == 1 and stored.last_used_at is not None


def test_a_challenge_works_once_and_only_for_its_ceremony(service: PasskeyService) -> None:
    device = authenticator()
    register(service, device)
    request = service.authentication_options("a1", SUBJECT)
    answer = device.get(request)
    service.authenticate("a1", answer)
    with pytest.raises(PasskeyError, match="ceremony_expired"):
        service.authenticate("a1", answer)  # replayed
    with pytest.raises(PasskeyError, match="ceremony_expired"):
        service.authenticate("a2", device.get(service.registration_options("a2", SUBJECT, "x", "x")))


def test_a_counter_going_back_is_refused_and_audited(service: PasskeyService) -> None:
    device = authenticator()
    register(service, device)
    service.authenticate("a1", device.get(service.authentication_options("a1", SUBJECT), sign_count=5))
    clone = service.authentication_options("a2", SUBJECT)
    with pytest.raises(PasskeyError, match="cloned_passkey"):
        service.authenticate("a2", device.get(clone, sign_count=3))  # a copy that lags behind
    cloned = [e for e in service.audit.events if e.type == "mfa.passkey.cloned"]  # type: ignore[attr-defined]
    assert len(cloned) == 1 and cloned[0].subject == SUBJECT and cloned[0].outcome == "denied"
    assert cloned[0].details["stored"] == 5 and cloned[0].details["presented"] == 3
    assert service.of(SUBJECT)[0].sign_count == 5  # unchanged


@pytest.mark.parametrize("wrong", ["origin", "verification", "person", "garbage"])
def test_bad_answers_are_refused(service: PasskeyService, storage: SqlStorage, wrong: str) -> None:
    device = authenticator()
    register(service, device)
    storage.subjects.add(Subject(id="sub-other", kind="person", claims={}))
    request = service.authentication_options("a1", "sub-other" if wrong == "person" else SUBJECT)
    if wrong == "verification":
        device.verifies_user = False
    answer = {"origin": lambda: device.get(request, origin="https://evil.example"),
              "verification": lambda: device.get(request), "person": lambda: device.get(request),
              "garbage": lambda: '{"id": 1}'}[wrong]()
    with pytest.raises(PasskeyError):
        service.authenticate("a1", answer)
    assert not any(e.type == "mfa.passkey.cloned" for e in service.audit.events)  # type: ignore[attr-defined]


def test_several_passkeys_synced_ones_report_swk_and_removal_needs_a_recent_sign_in(service: PasskeyService) -> None:
    first, synced = authenticator(), authenticator(backed_up=True)
    first_id = register(service, first, "USB")
    register(service, synced, "Điện thoại")
    options = json.loads(service.registration_options("c3", SUBJECT, "an.nguyen", ""))
    assert len(options["excludeCredentials"]) == 2  # no second copy on the same authenticator
    used = service.authenticate("a1", synced.get(service.authentication_options("a1", SUBJECT)))
    assert used.amr[0] == "swk" and amr_of(False, True)[0] == "hwk"
    now = int(service.clock())
    with pytest.raises(PasskeyError, match="reauthentication_required"):
        service.remove(SUBJECT, first_id, auth_time=now - 3600)
    service.remove(SUBJECT, first_id, auth_time=now)
    assert [p.name for p in service.of(SUBJECT)] == ["Điện thoại"]
    with pytest.raises(PasskeyError, match="unknown_passkey"):  # the removed one no longer signs in
        service.authenticate("a2", first.get(service.authentication_options("a2", None)))


def test_an_aaguid_allow_list_refuses_other_authenticators(storage: SqlStorage, ephemeral: object) -> None:
    storage.subjects.add(Subject(id=SUBJECT, kind="person", claims={}))
    service = PasskeyService(SqlFactorStore(storage.db), ephemeral, RecordingAudit(), issuer=ISSUER,  # type: ignore[arg-type]
                             allowed_aaguids=["ee882879-721c-4913-9775-3dfcce97072a"])
    options = service.registration_options("c1", SUBJECT, "an.nguyen", "")
    assert json.loads(options)["attestation"] == "direct"
    with pytest.raises(PasskeyError, match="authenticator_not_allowed"):
        service.register("c1", SUBJECT, authenticator().create(options), "USB")
    assert service.of(SUBJECT) == []

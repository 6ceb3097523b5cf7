"""verified_claims as stored and as released, uploads within limits, tickets used once."""

from __future__ import annotations

import base64

import pytest

from idp.ekyc.assurance import discovery_metadata, narrowed, verified_claims, with_document_number
from idp.ekyc.errors import ChipRefused
from idp.ekyc.tickets import UploadTickets
from idp.ekyc.upload import parse_upload
from idp.identity.claims import person_claims
from idp.identity.protection import encrypt_personal_id
from idp.storage.ephemeral import MemoryStore
from idp.storage.models import Subject

EVIDENCE = {
    "document": {"type": "idcard", "number": "001085012345", "issuer_country": "VN",
                 "date_of_issuance": "2025-01-02", "date_of_expiry": "2040-01-02"},
    "holder": {"name": "Nguyễn Văn An", "birthdate": "1985-03-14", "gender": "male", "nationality": "Việt Nam",
               "place_of_origin": "Hà Nội", "address": "Số 12 phố Hàng Bạc, Hà Nội"},
    "checks": [{"type": "vcrypt"}, {"type": "bvr", "method": "m", "score": 1.0},
               {"type": "data", "reference": "txn-1", "current": True}],
    "verified_at": 1_760_000_000,
}


def test_the_stored_form_never_holds_the_card_number() -> None:
    stored = verified_claims(EVIDENCE)
    assert "001085012345" not in repr(stored)
    (evidence,) = stored["verification"]["evidence"]
    assert [c["check_method"] for c in evidence["check_details"]] == ["vcrypt", "bvr", "data"]
    assert evidence["check_details"][2]["txn"] == "txn-1"
    assert stored["claims"] | {"address": None} == {
        "name": "Nguyễn Văn An", "family_name": "Nguyễn", "middle_name": "Văn", "given_name": "An",
        "birthdate": "1985-03-14", "gender": "male", "nationalities": ["VNM"], "address": None}


def test_the_number_is_put_back_from_the_decrypted_personal_id_when_released() -> None:
    key = b"e" * 32
    subject = Subject(id="s1", kind="person", personal_id_enc=encrypt_personal_id("001085012345", key),
                      claims={"verified_claims": verified_claims(EVIDENCE)})
    released = person_claims(subject, key)
    details = released["verified_claims"]["verification"]["evidence"][0]["document_details"]
    assert details["document_number"] == "001085012345"
    assert "verified_claims" not in with_document_number({"verified_claims": verified_claims(EVIDENCE)}, None)


def test_discovery_lists_only_the_check_methods_that_can_happen() -> None:
    assert discovery_metadata({"vcrypt", "bvr"})["documents_check_methods_supported"] == ["bvr", "vcrypt"]


@pytest.mark.parametrize(("body", "reason"), [
    ([], "upload_malformed"),
    ({"sod": "AA=="}, "dg_missing"),
    ({"sod": "not base64!", "dg1": "AA==", "dg13": "AA=="}, "upload_malformed"),
    ({"sod": "AA==", "dg1": "AA==", "dg13": "AA==", "dg99": "AA=="}, "upload_malformed"),
    ({"sod": base64.b64encode(b"x" * 40_000).decode(), "dg1": "AA==", "dg13": "AA=="}, "upload_malformed"),
    ({"sod": "AA==", "dg1": "AA==", "dg13": 5}, "upload_malformed"),
])
def test_an_upload_outside_its_limits_is_refused(body: object, reason: str) -> None:
    with pytest.raises(ChipRefused) as refused:
        parse_upload(body)
    assert refused.value.reason == reason


def test_a_ticket_is_used_once_and_its_result_taken_once() -> None:
    tickets = UploadTickets(MemoryStore())
    ticket = tickets.issue(interaction_id="i1", session_id="s1", adapter_id="chip", ttl=60)
    assert tickets.peek(ticket.token) == ticket and len(ticket.nonce) == 8
    assert tickets.use(ticket.token) == ticket
    assert tickets.use(ticket.token) is None and tickets.peek(ticket.token) is None
    tickets.put_result("i1", {"outcome": "verified"})
    assert tickets.take_result("i1") == {"outcome": "verified"} and tickets.take_result("i1") is None


def test_only_the_verified_claims_asked_for_are_released() -> None:
    selected = {"name": "x", "verified_claims": verified_claims(EVIDENCE)}
    asked = {"id_token": {"verified_claims": {"verification": {"trust_framework": None},
                                              "claims": {"birthdate": None, "address": None}}}}
    out = narrowed(selected, asked, "id_token")
    assert set(out["verified_claims"]["claims"]) == {"birthdate", "address"}
    assert out["verified_claims"]["verification"]["trust_framework"] == "vn_cccd_chip" and out["name"] == "x"
    assert narrowed(selected, {"userinfo": {"verified_claims": None}}, "userinfo")["verified_claims"]["claims"] == {}

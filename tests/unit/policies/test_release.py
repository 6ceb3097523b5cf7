"""Claim release: restricted scopes need the policy's approval; drops are reported."""

from __future__ import annotations

import pytest

from policies.claims import RESTRICTED_SCOPES, SCOPE_CLAIMS
from policies.context import SessionState, acr_request_from_claims, requested_claim_names
from policies.engine import evaluate
from policies.loa import Level
from policies.outcome import OK, Prompt
from policies.release import Dropped, release_claims
from policies.session import apply_consent
from tests.unit.policies.builders import NOW, policy, request, signed_in

LIBRARY = policy("""
    adapters: [vneid]
    scopes: [openid, profile, email, vn_eid]
    withheld_claims: [birthdate]
""")
PERSON = {
    "name": "Nguyễn Thị Minh Khai", "family_name": "Nguyễn", "middle_name": "Thị Minh", "given_name": "Khai",
    "birthdate": "1990-02-03", "email": "khai@example.vn", "vn_personal_id": "049190000123",
    "vn_eid_level": 2, "vn_login_idp": "VNeID", "vn_account_type": "CongDan", "vn_org_tax_code": "4000123456",
}


@pytest.mark.parametrize(("scope", "claims"), [
    ("openid vn_id", ()),
    ("openid profile vn_id vn_eid", ("vn_personal_id",)),
    ("openid", ("vn_personal_id",)),
    ("openid email", ("vn_personal_id", "name")),
    ("openid " + " ".join(SCOPE_CLAIMS), tuple(sorted({c for cs in SCOPE_CLAIMS.values() for c in cs}))),
    ("openid vn_personal_id", ("vn_id",)),
])
def test_a_client_not_approved_for_vn_id_never_gets_the_personal_id_number(scope: str, claims: tuple[str, ...]) -> None:
    granted = release_claims(LIBRARY, scope.split(), claims)
    assert "vn_personal_id" not in granted.claims
    assert "vn_personal_id" not in granted.filter(PERSON)
    assert "vn_id" not in granted.scopes
    if "vn_id" in scope.split():
        assert Dropped("scope", "vn_id", "restricted_scope_not_approved") in granted.dropped
    if "vn_personal_id" in claims:
        assert Dropped("claim", "vn_personal_id", "restricted_scope_not_approved") in granted.dropped


def test_released_claims_follow_the_approved_scopes_minus_withheld_ones() -> None:
    granted = release_claims(LIBRARY, ["openid", "profile", "vn_eid", "vn_org"])
    assert granted.scopes == ("openid", "profile", "vn_eid")
    assert granted.filter(PERSON) == {
        "name": "Nguyễn Thị Minh Khai", "family_name": "Nguyễn", "middle_name": "Thị Minh", "given_name": "Khai",
        "vn_eid_level": 2, "vn_login_idp": "VNeID", "vn_account_type": "CongDan",
    }
    assert Dropped("claim", "birthdate", "withheld_by_policy") in granted.dropped
    assert Dropped("scope", "vn_org", "restricted_scope_not_approved") in granted.dropped
    assert granted.restricted_scopes == ("vn_eid",)


def test_a_claim_asked_individually_is_released_when_its_scope_is_allowed() -> None:
    granted = release_claims(LIBRARY, ["openid"], ["email", "acr", "favourite_colour"])
    assert granted.claims == {"email"} and granted.individual_claims == {"email"}
    assert Dropped("claim", "favourite_colour", "unknown_claim") in granted.dropped
    assert granted.filter(PERSON) == {"email": "khai@example.vn"}


def test_unapproved_standard_scopes_are_dropped_too() -> None:
    granted = release_claims(policy("scopes: [profile]\n"), ["openid", "email", "offline_access"])
    assert granted.scopes == ("openid",)
    assert {d.name for d in granted.dropped} == {"email", "offline_access"}
    assert all(d.reason == "scope_not_allowed" for d in granted.dropped)


def test_a_restricted_scope_needs_consent_even_from_a_trusted_client() -> None:
    approved = policy("adapters: [vneid]\nscopes: [openid, profile, vn_id]\n")
    session = signed_in(Level.VNEID_L2, "vneid")
    trusted = request(approved, scopes=("openid", "profile", "vn_id"), trusted_client=True)
    outcome = evaluate(trusted, session)
    assert isinstance(outcome, Prompt) and outcome.kind == "consent"
    assert outcome.scopes == ("vn_id",)
    assert evaluate(trusted, apply_consent(session, scopes=["vn_id"], now=NOW)) == OK


def test_a_restricted_claim_asked_individually_needs_its_own_consent() -> None:
    approved = policy("adapters: [vneid]\nscopes: [openid, vn_id]\n")
    ctx = request(approved, requested_claims={"vn_personal_id"}, trusted_client=True)
    outcome = evaluate(ctx, signed_in(Level.VNEID_L2, "vneid"))
    assert isinstance(outcome, Prompt) and outcome.claims == ("vn_personal_id",)
    consented = apply_consent(signed_in(Level.VNEID_L2, "vneid"), scopes=(), claims=["vn_personal_id"], now=NOW)
    assert evaluate(ctx, consented) == OK


def test_prompt_consent_asks_again_even_with_consent_on_record() -> None:
    approved = policy("adapters: [vneid]\nscopes: [openid, profile]\n")
    session = apply_consent(signed_in(Level.VNEID_L2, "vneid"), scopes=["profile"], now=NOW - 100)
    ctx = request(approved, scopes=("openid", "profile"), prompt={"consent"})
    outcome = evaluate(ctx, session)
    assert isinstance(outcome, Prompt) and outcome.reason_id == "consent_requested"
    assert evaluate(ctx, apply_consent(session, scopes=["profile"], now=NOW + 1)) == OK


def test_the_claims_parameter_is_read_for_acr_and_claim_names() -> None:
    parameter = {"id_token": {"acr": {"essential": True, "values": ["LoA2"]}, "vn_personal_id": None},
                 "userinfo": {"email": {"essential": True}}}
    assert acr_request_from_claims(parameter) == (("LoA2",), True)
    assert acr_request_from_claims({"id_token": {"acr": {"value": "LoA1"}}}) == (("LoA1",), False)
    assert acr_request_from_claims(None) == ((), False)
    assert requested_claim_names(parameter) == {"acr", "vn_personal_id", "email"}


def test_every_restricted_scope_has_claims_and_a_vietnamese_description() -> None:
    from policies.claims import RESTRICTED_SCOPE_REVEALS_VI

    for scope in RESTRICTED_SCOPES:
        assert SCOPE_CLAIMS[scope] and RESTRICTED_SCOPE_REVEALS_VI[scope]


def test_nobody_signed_in_is_never_ok() -> None:
    assert evaluate(request(LIBRARY), SessionState()) != OK

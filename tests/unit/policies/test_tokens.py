"""Policy at /token: refresh re-checked against the current policy; step-up scopes time-boxed."""

from __future__ import annotations

from policies.loa import Level
from policies.release import Dropped
from policies.tokens import refresh_denial, release_for_refresh
from tests.unit.policies.builders import NOW, policy

TAX = policy("""
    adapters: [vneid, pki]
    minimum_acr: vneid-l2
    scopes: [openid, profile, vn_id, "tax:submit"]
    step_up:
      - {scope: "tax:submit", acr: pki-hw, within_seconds: 300}
""")


def test_a_refresh_within_the_step_up_rule_keeps_the_scope() -> None:
    granted = release_for_refresh(TAX, ["openid", "tax:submit"], acr=Level.PKI_HW, auth_time=NOW - 100, now=NOW)
    assert granted.scopes == ("openid", "tax:submit")


def test_a_refresh_after_the_step_up_rule_drops_the_scope() -> None:
    granted = release_for_refresh(TAX, ["openid", "profile", "tax:submit"], acr=Level.PKI_HW,
                                  auth_time=NOW - 301, now=NOW)
    assert granted.scopes == ("openid", "profile")
    assert Dropped("scope", "tax:submit", "step_up_expired") in granted.dropped
    assert "name" in granted.claims


def test_a_refresh_is_refused_when_the_policy_was_tightened() -> None:
    assert refresh_denial(TAX, acr=Level.VNEID_L2) is None
    denial = refresh_denial(TAX, acr=Level.VNEID_L1)
    assert denial is not None and denial.error == "invalid_grant"
    closed = refresh_denial(policy("scopes: [openid]\n"), acr=Level.PKI_HW)
    assert closed is not None and closed.error == "invalid_grant"


def test_a_refresh_drops_scopes_the_policy_no_longer_allows() -> None:
    granted = release_for_refresh(TAX, ["openid", "email", "vn_id"], acr=Level.VNEID_L2, auth_time=NOW - 9999,
                                  now=NOW)
    assert granted.scopes == ("openid", "vn_id")
    assert "vn_personal_id" in granted.claims

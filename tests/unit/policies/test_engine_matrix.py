"""The check matrix: for each check a request that passes, one that prompts (and once the prompt
is satisfied the request passes, with the higher acr where the prompt was about assurance), and
one that is denied.

Checks that can only refuse (adapters_available, policy_reachable, essential_acr) have no prompt
row; checks that can only prompt are denied under ``prompt=none`` (OIDC Core §3.1.2.6; a session
below the level needed with ``unmet_authentication_requirements``), except prompt_login, where ``prompt=login none`` is
a malformed request the OIDC core rejects first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from policies.context import AuthorizationContext, SessionState, effective_authentication
from policies.engine import evaluate
from policies.loa import Level
from policies.outcome import OK, Deny, Prompt
from policies.session import apply_consent, apply_login, apply_second_factor, apply_step_up
from tests.unit.policies.builders import ISSUER, NOW, policy, request, signed_in

CITIZEN = policy("""
    adapters: [vneid, pki]
    minimum_acr: vneid-l1
    scopes: [openid, profile, vn_id, "tax:submit"]
    step_up:
      - {scope: "tax:submit", acr: pki-hw, within_seconds: 300}
""")
OFFICIAL = policy("""
    adapters: [local]
    mfa_required: true
    scopes: [openid, profile]
""")
LOCAL_ONLY = policy("adapters: [local]\nscopes: [openid, profile]\n")
L1 = signed_in(Level.VNEID_L1, "vneid", amr=("swk", "pin"))
L2 = signed_in(Level.VNEID_L2, "vneid", amr=("swk", "pin"))
CONSENTED = apply_consent(L1, scopes=("profile", "vn_id"), now=NOW - 60)
ORGANISATION = apply_login(SessionState(), level=Level.VNEID_L1, amr=("swk", "pin"), adapter_id="vneid",
                           now=NOW - 60, organisation=True)  # an organisation e-ID account signed in
FOR_BUSINESSES = policy("adapters: [vneid]\nminimum_acr: vneid-l1\norganisations: true\nscopes: [openid]\n")


@dataclass(frozen=True)
class Case:
    check: str
    ctx: AuthorizationContext
    session: SessionState
    # For prompt rows: how the person satisfies it (session, ctx) -> session, and the level after.
    satisfy: Callable[[SessionState, AuthorizationContext], SessionState] | None = None
    level_after: Level | None = None
    expect: dict[str, Any] = field(default_factory=dict)


def step_up_to(level: Level, adapter: str) -> Callable[[SessionState, AuthorizationContext], SessionState]:
    return lambda s, c: apply_step_up(s, level=level, amr=("hwk", "pin") if adapter == "pki" else ("swk", "pin"),
                                      adapter_id=adapter, now=c.now, window_seconds=c.policy.step_up_window_seconds)


def login_with(level: Level, adapter: str) -> Callable[[SessionState, AuthorizationContext], SessionState]:
    return lambda s, c: apply_login(s, level=level, amr=("swk", "pin"), adapter_id=adapter, now=c.now)


PASSES = [
    Case("adapters_available", request(LOCAL_ONLY), signed_in(Level.LOCAL_BASIC, "local")),
    Case("policy_reachable", request(CITIZEN), L1),
    Case("essential_acr", request(CITIZEN, essential_acr=(f"{ISSUER}/acr/vneid-l1",)), L2),
    Case("signed_in", request(CITIZEN), L1),
    Case("session_adapter", request(CITIZEN), L1),
    Case("organisation", request(FOR_BUSINESSES), ORGANISATION),
    Case("prompt_login", request(CITIZEN, prompt={"login"}, request_time=NOW - 120), L1),
    Case("max_age", request(CITIZEN, max_age=600), L1),
    Case("session_lifetime", request(policy(adapters=("vneid",), session_lifetime_seconds=3600)), L1),
    Case("minimum_acr", request(policy(adapters=("vneid",), minimum_acr=Level.VNEID_L1)), L2),
    Case("requested_acr", request(CITIZEN, acr_values=("LoA1",)), L2),
    Case("step_up_rules", request(CITIZEN, scopes=("openid", "tax:submit"), trusted_client=True),
         apply_step_up(L1, level=Level.PKI_HW, amr=("hwk", "pin"), adapter_id="pki", now=NOW - 100,
                       window_seconds=300)),
    Case("mfa", request(OFFICIAL), signed_in(Level.LOCAL_MFA, "local", amr=("pwd", "otp"))),
    Case("consent", request(CITIZEN, scopes=("openid", "profile", "vn_id")), CONSENTED),
]

PROMPTS = [
    Case("signed_in", request(CITIZEN), SessionState(), login_with(Level.VNEID_L1, "vneid"), Level.VNEID_L1,
         {"kind": "login", "reason_id": "login_required", "required_acr": Level.VNEID_L1,
          "adapters": ("vneid", "pki")}),
    Case("session_adapter", request(CITIZEN), signed_in(Level.LOCAL_MFA, "local"),
         login_with(Level.VNEID_L1, "vneid"), Level.VNEID_L1,
         {"kind": "login", "reason_id": "adapter_not_allowed", "adapters": ("vneid", "pki")}),
    Case("organisation", request(CITIZEN), ORGANISATION, login_with(Level.VNEID_L1, "vneid"), Level.VNEID_L1,
         {"kind": "login", "reason_id": "organisation_not_accepted", "adapters": ("vneid", "pki")}),
    Case("prompt_login", request(CITIZEN, prompt={"login"}), L1, login_with(Level.VNEID_L2, "vneid"),
         Level.VNEID_L2, {"kind": "login", "reason_id": "reauthentication_requested"}),
    Case("max_age", request(CITIZEN, max_age=30), L1, login_with(Level.VNEID_L2, "vneid"), Level.VNEID_L2,
         {"kind": "login", "reason_id": "max_age_exceeded"}),
    Case("max_age", request(policy(adapters=("vneid",), max_age=30), max_age=3600), L1,
         login_with(Level.VNEID_L2, "vneid"), Level.VNEID_L2, {"kind": "login", "reason_id": "max_age_exceeded"}),
    Case("session_lifetime", request(policy(adapters=("vneid",), session_lifetime_seconds=60),
                                     request_time=NOW - 5), signed_in(Level.VNEID_L1, "vneid", at=NOW - 61),
         login_with(Level.VNEID_L2, "vneid"), Level.VNEID_L2, {"kind": "login", "reason_id": "session_too_old"}),
    Case("minimum_acr", request(policy(adapters=("vneid", "pki"), minimum_acr=Level.VNEID_L2)), L1,
         step_up_to(Level.VNEID_L2, "vneid"), Level.VNEID_L2,
         {"kind": "step_up", "reason_id": "acr_below_policy", "required_acr": Level.VNEID_L2,
          "adapters": ("vneid", "pki")}),
    Case("requested_acr", request(CITIZEN, acr_values=("LoA2",)), L1, step_up_to(Level.VNEID_L2, "vneid"),
         Level.VNEID_L2, {"kind": "step_up", "reason_id": "acr_requested", "required_acr": Level.VNEID_L2}),
    Case("requested_acr", request(CITIZEN, essential_acr=(f"{ISSUER}/acr/pki-hw",)), L2,
         step_up_to(Level.PKI_HW, "pki"), Level.PKI_HW,
         {"kind": "step_up", "required_acr": Level.PKI_HW, "adapters": ("pki",)}),
    Case("step_up_rules", request(CITIZEN, scopes=("openid", "tax:submit"), trusted_client=True), L2,
         step_up_to(Level.PKI_HW, "pki"), Level.PKI_HW,
         {"kind": "step_up", "reason_id": "step_up_for_scope", "required_acr": Level.PKI_HW,
          "adapters": ("pki",), "scopes": ("tax:submit",)}),
    Case("mfa", request(OFFICIAL), signed_in(Level.LOCAL_BASIC, "local", amr=("pwd",)),
         lambda s, c: apply_second_factor(s, amr=("otp",), now=c.now), Level.LOCAL_MFA,
         {"kind": "mfa", "reason_id": "mfa_required"}),
    Case("consent", request(CITIZEN, scopes=("openid", "profile", "vn_id")), L1,
         lambda s, c: apply_consent(s, scopes=("profile", "vn_id"), now=c.now), Level.VNEID_L1,
         {"kind": "consent", "reason_id": "consent_required", "scopes": ("profile", "vn_id")}),
]

DENIALS = [
    Case("adapters_available", request(policy("scopes: [openid]\n")), L1,
         expect={"error": "access_denied"}),
    Case("adapters_available", request(LOCAL_ONLY, adapter_max_acr={"vneid": Level.VNEID_L2}), L1,
         expect={"error": "access_denied"}),
    Case("policy_reachable", request(policy(adapters=("local", "vneid"), minimum_acr=Level.PKI_HW)), L1,
         expect={"error": "access_denied"}),
    Case("essential_acr", request(LOCAL_ONLY, essential_acr=("LoA2",)), signed_in(Level.LOCAL_MFA, "local"),
         expect={"error": "unmet_authentication_requirements"}),
    Case("essential_acr", request(CITIZEN, essential_acr=("http://eidas.europa.eu/LoA/high",)), L2,
         expect={"error": "unmet_authentication_requirements"}),
    Case("signed_in", request(CITIZEN, prompt={"none"}), SessionState(), expect={"error": "login_required"}),
    Case("session_adapter", request(CITIZEN, prompt={"none"}), signed_in(Level.LOCAL_MFA, "local"),
         expect={"error": "login_required"}),
    Case("organisation", request(CITIZEN, prompt={"none"}), ORGANISATION, expect={"error": "login_required"}),
    Case("max_age", request(CITIZEN, max_age=30, prompt={"none"}), L1, expect={"error": "login_required"}),
    Case("session_lifetime", request(policy(adapters=("vneid",), session_lifetime_seconds=60), prompt={"none"}),
         signed_in(Level.VNEID_L1, "vneid", at=NOW - 61), expect={"error": "login_required"}),
    Case("minimum_acr", request(policy(adapters=("vneid",), minimum_acr=Level.VNEID_L2), prompt={"none"}), L1,
         expect={"error": "unmet_authentication_requirements"}),
    Case("requested_acr", request(CITIZEN, acr_values=("LoA2",), prompt={"none"}), L1,
         expect={"error": "unmet_authentication_requirements"}),
    Case("step_up_rules", request(CITIZEN, scopes=("openid", "tax:submit"), prompt={"none"}), L2,
         expect={"error": "unmet_authentication_requirements"}),
    Case("mfa", request(OFFICIAL, prompt={"none"}), signed_in(Level.LOCAL_BASIC, "local"),
         expect={"error": "interaction_required"}),
    Case("consent", request(CITIZEN, scopes=("openid", "vn_id"), prompt={"none"}), L1,
         expect={"error": "consent_required"}),
]


def _id(case: Case) -> str:
    return case.check


@pytest.mark.parametrize("case", PASSES, ids=_id)
def test_passes(case: Case) -> None:
    assert evaluate(case.ctx, case.session) == OK


@pytest.mark.parametrize("case", PROMPTS, ids=_id)
def test_prompts_and_the_satisfied_prompt_passes(case: Case) -> None:
    outcome = evaluate(case.ctx, case.session)
    assert isinstance(outcome, Prompt), outcome
    assert outcome.check == case.check
    for name, value in case.expect.items():
        assert getattr(outcome, name) == value, name

    assert case.satisfy is not None
    later = AuthorizationContext(**{**case.ctx.__dict__, "now": case.ctx.now + 5})
    session = case.satisfy(case.session, later)
    assert evaluate(later, session) == OK
    before = effective_authentication(case.session, case.ctx.now)
    after = effective_authentication(session, later.now, allowed_adapters=later.policy.adapters)
    assert after is not None and after.level == case.level_after
    assert after.acr_uri(ISSUER) == f"{ISSUER}/acr/{case.level_after.token}"
    if case.expect.get("kind") in ("step_up", "mfa"):
        assert before is not None and after.level > before.level
        assert after.auth_time == later.now


@pytest.mark.parametrize("case", DENIALS, ids=_id)
def test_denied(case: Case) -> None:
    outcome = evaluate(case.ctx, case.session)
    assert isinstance(outcome, Deny), outcome
    assert outcome.check == case.check
    assert outcome.error == case.expect["error"]


def test_every_check_has_a_row() -> None:
    from policies.checks import CHECKS

    names = {check.__name__.removeprefix("check_") for check in CHECKS}
    assert {case.check for case in PASSES} == names
    assert {case.check for case in DENIALS} == names - {"prompt_login"}
    assert {case.check for case in PROMPTS} == names - {"adapters_available", "policy_reachable", "essential_acr"}

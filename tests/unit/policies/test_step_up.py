"""Step-up: LoA2 asked of a level-1 session is a step-up, never a token; the raised level is
time-boxed and the token's acr/amr/auth_time follow what actually happened."""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState, effective_acr, effective_authentication
from policies.engine import evaluate
from policies.loa import Level
from policies.outcome import OK, Prompt
from policies.session import apply_login, apply_step_up, session_from_json, session_to_json
from tests.unit.policies.builders import ISSUER, NOW, policy, request, signed_in

PORTAL = policy("""
    adapters: [vneid, pki]
    minimum_acr: vneid-l1
    step_up_window_seconds: 600
    scopes: [openid, profile, "tax:submit"]
    step_up:
      - {scope: "tax:submit", acr: pki-hw, within_seconds: 300}
""")


def at(ctx: AuthorizationContext, now: int) -> AuthorizationContext:
    return AuthorizationContext(**{**ctx.__dict__, "now": now, "request_time": now})


def test_loa2_requested_of_a_vneid_l1_session_is_sent_to_step_up() -> None:
    session = signed_in(Level.VNEID_L1, "vneid", amr=("swk", "pin"))
    ctx = request(PORTAL, acr_values=("LoA2",), trusted_client=True)
    outcome = evaluate(ctx, session)
    assert isinstance(outcome, Prompt)
    assert (outcome.kind, outcome.required_acr) == ("step_up", Level.VNEID_L2)
    assert outcome.adapters == ("vneid", "pki")

    stepped = apply_step_up(session, level=Level.VNEID_L2, amr=("swk", "pin", "face"), adapter_id="vneid",
                            now=NOW + 10, window_seconds=PORTAL.step_up_window_seconds)
    assert evaluate(at(ctx, NOW + 11), stepped) == OK
    token = effective_authentication(stepped, NOW + 11)
    assert token is not None
    assert token.acr_uri(ISSUER) == f"{ISSUER}/acr/vneid-l2"
    assert token.amr == ("swk", "pin", "face") and token.auth_time == NOW + 10


def test_the_raised_level_falls_back_after_its_window() -> None:
    session = signed_in(Level.VNEID_L1, "vneid", amr=("swk", "pin"), at=NOW - 1000)
    stepped = apply_step_up(session, level=Level.VNEID_L2, amr=("face",), adapter_id="vneid", now=NOW,
                            window_seconds=600)
    assert effective_acr(stepped, NOW + 599) == Level.VNEID_L2
    assert effective_acr(stepped, NOW + 600) == Level.VNEID_L1
    fallen = effective_authentication(stepped, NOW + 600)
    assert fallen is not None
    assert (fallen.amr, fallen.auth_time) == (("swk", "pin"), NOW - 1000)

    ctx = request(PORTAL, acr_values=("LoA2",), trusted_client=True)
    assert evaluate(at(ctx, NOW + 599), stepped) == OK
    later = evaluate(at(ctx, NOW + 600), stepped)
    assert isinstance(later, Prompt) and later.kind == "step_up"


def test_a_step_up_scope_needs_a_fresh_strong_sign_in_even_inside_the_window() -> None:
    session = signed_in(Level.VNEID_L2, "vneid")
    stepped = apply_step_up(session, level=Level.PKI_HW, amr=("hwk", "pin"), adapter_id="pki", now=NOW,
                            window_seconds=600)
    ctx = request(PORTAL, scopes=("openid", "tax:submit"), trusted_client=True)
    assert evaluate(at(ctx, NOW + 300), stepped) == OK
    # Still pki-hw for the session (window 600 s) but no longer "within 300 s" for tax:submit.
    assert effective_acr(stepped, NOW + 301) == Level.PKI_HW
    outcome = evaluate(at(ctx, NOW + 301), stepped)
    assert isinstance(outcome, Prompt) and outcome.check == "step_up_rules"
    # Without tax:submit the same session passes.
    assert evaluate(at(request(PORTAL, trusted_client=True), NOW + 301), stepped) == OK


def test_a_step_up_made_with_an_adapter_the_client_does_not_allow_does_not_count_for_it() -> None:
    other = policy("adapters: [vneid]\nminimum_acr: vneid-l1\nscopes: [openid]\n")
    session = signed_in(Level.VNEID_L1, "vneid")
    stepped = apply_step_up(session, level=Level.PKI_HW, amr=("hwk",), adapter_id="pki", now=NOW, window_seconds=600)
    outcome = evaluate(request(other, acr_values=("LoA2",), now=NOW + 1), stepped)
    assert isinstance(outcome, Prompt) and outcome.required_acr == Level.VNEID_L2
    assert outcome.adapters == ("vneid",)


def test_a_new_login_ends_the_step_up() -> None:
    session = signed_in(Level.VNEID_L1, "vneid")
    stepped = apply_step_up(session, level=Level.PKI_HW, amr=("hwk",), adapter_id="pki", now=NOW, window_seconds=600)
    again = apply_login(stepped, level=Level.VNEID_L1, amr=("swk",), adapter_id="vneid", now=NOW + 5)
    assert effective_acr(again, NOW + 6) == Level.VNEID_L1


def test_a_voluntary_acr_no_allowed_adapter_can_reach_is_not_demanded() -> None:
    # acr_values is voluntary: the token says honestly what was reached (an essential acr would fail).
    local = policy("adapters: [local]\nscopes: [openid]\n")
    session = signed_in(Level.LOCAL_MFA, "local", amr=("pwd", "otp"))
    assert evaluate(request(local, acr_values=("LoA2",)), session) == OK
    assert evaluate(request(local, acr_values=("https://elsewhere.example/acr/x",)), session) == OK


def test_the_first_sign_in_is_asked_for_everything_the_request_needs() -> None:
    ctx = request(PORTAL, scopes=("openid", "tax:submit"), acr_values=("LoA2",))
    outcome = evaluate(ctx, SessionState())
    assert isinstance(outcome, Prompt)
    assert (outcome.kind, outcome.required_acr, outcome.adapters) == ("login", Level.PKI_HW, ("pki",))


def test_the_session_state_survives_a_round_trip_through_json() -> None:
    session = apply_step_up(signed_in(Level.VNEID_L1, "vneid"), level=Level.PKI_HW, amr=("hwk",),
                            adapter_id="pki", now=NOW, window_seconds=300)
    assert session_from_json(session_to_json(session)) == session

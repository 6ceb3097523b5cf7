"""``mfa_required_roles``: a second factor for the people who hold one of the roles (a directory
group mapped to a role), not for everyone; the roles travel with the session's sign-in."""

from __future__ import annotations

from policies import Prompt, evaluate
from policies.context import SessionState
from policies.explain import format_explanation
from policies.loa import Level
from policies.outcome import OK
from policies.session import apply_login, apply_second_factor, session_from_json, session_to_json
from tests.unit.policies.builders import NOW, policy, request

CLERKS = policy("""
    adapters: [local]
    mfa_required_roles: [one-stop-clerk, auditor]
""")


def signed_in(*roles: str, amr: tuple[str, ...] = ("pwd",)) -> SessionState:
    return apply_login(SessionState(), level=Level.LOCAL_BASIC, amr=amr, adapter_id="local", now=NOW - 60,
                       roles=roles)


def test_a_person_holding_a_listed_role_is_asked_for_a_second_factor() -> None:
    outcome = evaluate(request(CLERKS), signed_in("leader", "one-stop-clerk"))
    assert isinstance(outcome, Prompt) and outcome.kind == "mfa"


def test_others_and_two_factor_sign_ins_pass() -> None:
    assert evaluate(request(CLERKS), signed_in("leader")) == OK
    assert evaluate(request(CLERKS), signed_in()) == OK
    assert evaluate(request(CLERKS), signed_in("auditor", amr=("pwd", "hwk", "user", "pin", "mfa"))) == OK


def test_the_roles_survive_the_session_store_and_a_second_factor() -> None:
    state = session_from_json(session_to_json(signed_in("auditor")))
    assert state.login is not None and state.login.roles == ("auditor",)
    raised = apply_second_factor(state, amr=("otp",), now=NOW)
    assert raised.login is not None and raised.login.roles == ("auditor",)
    assert evaluate(request(CLERKS), raised) == OK
    old = session_to_json(signed_in())  # a session stored before roles were kept reads as no roles
    assert "roles" not in old["login"] and session_from_json(old).login.roles == ()  # type: ignore[union-attr]


def test_policies_explain_names_the_roles() -> None:
    body = {"client_id": "hoso", "policy_file": "hoso.yaml", "own_policy": True, "description": "",
            "request": {"scope": "openid"}, "outcome": {"result": "sign_in", "adapters": ["local"]},
            "sign_in": {"required_acr": {"acr": "local-basic", "label_vi": "cơ bản", "uri": "u"},
                        "minimum_acr": {"acr": "local-basic"}, "mfa_required": False,
                        "mfa_required_roles": ["one-stop-clerk"], "max_age": None, "session_lifetime_seconds": None,
                        "step_up": [], "step_up_window_seconds": 300},
            "subject_type": "pairwise", "released": {"scopes": ["openid"], "claims": [], "restricted": []},
            "dropped": []}
    assert "MFA required for roles one-stop-clerk" in format_explanation(body)

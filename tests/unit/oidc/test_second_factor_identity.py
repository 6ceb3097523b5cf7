"""A second factor added to a signed-in session keeps what its sign-in reached: the level (a citizen
signed in with VNeID level 2 does not fall back to a local level), the roles, the subject."""

from __future__ import annotations

import dataclasses

from idp.oidc.assurance import level_of
from idp.oidc.flow.factors import session_identity
from idp.sessions import SsoSession
from policies.context import SessionState
from policies.loa import Level
from policies.session import apply_login, session_to_json


def session(level: Level, adapter: str, roles: tuple[str, ...] = ()) -> SsoSession:
    state = apply_login(SessionState(), level=level, amr=("pwd",), adapter_id=adapter, now=1_750_000_000,
                        roles=roles)
    return SsoSession(id="s1", sid="sid1", subject_id="sub-1", auth_time=1_750_000_000, created_at=1_750_000_000,
                      last_seen=1_750_000_000, amr=("pwd",), adapter=adapter, policy=session_to_json(state))


def with_second_factor(identity: object) -> Level:
    return level_of(dataclasses.replace(identity, amr=(*identity.amr, "otp", "mfa")))  # type: ignore[type-var,attr-defined]


def test_an_upstream_level_survives_a_second_factor() -> None:
    identity = session_identity(session(Level.VNEID_L2, "vneid"), "https://id.example.gov.vn", "person:sub-1")
    assert identity.subject == "sub-1" and identity.adapter_id == "vneid" and identity.acr == "vneid-l2"
    assert with_second_factor(identity) == Level.VNEID_L2


def test_a_directory_password_with_a_second_factor_is_local_mfa_and_keeps_its_roles() -> None:
    identity = session_identity(session(Level.LOCAL_BASIC, "officials", ("auditor",)), "https://id.example.gov.vn",
                                "person:sub-1")
    assert identity.roles == ("auditor",) and identity.evidence == {"account_id": "person:sub-1"}
    assert with_second_factor(identity) == Level.LOCAL_MFA

"""What an upstream sign-in is asked for and how an answer below it ends (idp.oidc.flow.levels):
the prompt's level, a fresh sign-in for the prompts that need one, the request's max_age; the gap
between the level needed and the one reached; the client told at once only when it asked for an
essential acr or prompt=none; the page's facts."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import Identity, UpstreamRequest
from idp.oidc.flow import levels
from idp.oidc.interaction import Interaction
from idp.specs.authorization_request import AuthorizationRequest
from policies.loa import Level


def interaction(waiting: dict[str, Any] | None = None, **request: Any) -> Interaction:
    """An interaction whose stored prompt is ``waiting``; ``request``: fields of its request."""
    authz = AuthorizationRequest(client_id="dkkd", redirect_uri="https://rp.example/cb", scopes=("openid",),
                                 code_challenge="c" * 43, **request)
    return Interaction(id="i1", request=authz, created_at=1, prompt=waiting)


def signed_in(acr: str | None) -> Identity:
    return Identity(subject="s", adapter_id="vneid", issuer="https://vneid.example", auth_time=1, acr=acr)


LOGIN_L2 = {"kind": "login", "reason_id": "login_required", "adapters": ["vneid"], "required_acr": "vneid-l2"}


def test_the_upstream_is_asked_for_the_prompts_level() -> None:
    assert levels.upstream_request(interaction(LOGIN_L2)) == UpstreamRequest(level="vneid-l2")
    assert levels.upstream_request(interaction(None)) == UpstreamRequest()


@pytest.mark.parametrize("reason", ["reauthentication_requested", "max_age_exceeded", "session_too_old",
                                    "account_selection_requested"])
def test_a_prompt_for_a_fresh_sign_in_asks_the_upstream_for_one(reason: str) -> None:
    asked = levels.upstream_request(interaction({**LOGIN_L2, "reason_id": reason}, max_age=60))
    assert asked == UpstreamRequest(level="vneid-l2", fresh=True, max_age=60)
    assert levels.upstream_request(interaction(LOGIN_L2, prompt=("login",))).fresh


def test_the_shortfall_is_the_gap_below_the_level_needed() -> None:
    gap = levels.shortfall(interaction(LOGIN_L2), signed_in("vneid-l1"))
    assert gap == levels.Shortfall(Level.VNEID_L2, Level.VNEID_L1)
    assert gap.details() == {"asked": "vneid-l2", "achieved": "vneid-l1"}
    assert levels.shortfall(interaction(LOGIN_L2), signed_in(None)) == levels.Shortfall(Level.VNEID_L2,
                                                                                          Level.LOCAL_BASIC)
    assert levels.shortfall(interaction(LOGIN_L2), signed_in("vneid-l2")) is None
    assert levels.shortfall(interaction(LOGIN_L2), signed_in("pki-hw")) is None  # more than asked
    assert levels.shortfall(interaction(None), signed_in(None)) is None


def test_only_an_essential_acr_or_prompt_none_tells_the_client_at_once() -> None:
    essential = {"id_token": {"acr": {"essential": True, "values": ["LoA2"]}}}
    voluntary = {"id_token": {"acr": {"values": ["LoA2"]}}}
    assert levels.ends_at_client(interaction(LOGIN_L2, claims=essential))
    assert levels.ends_at_client(interaction(LOGIN_L2, prompt=("none",)))
    assert not levels.ends_at_client(interaction(LOGIN_L2, claims=voluntary))
    assert not levels.ends_at_client(interaction(LOGIN_L2, acr_values=("LoA2",)))


def test_the_page_keeps_the_login_prompt_and_says_how_to_reach_the_level() -> None:
    gap = levels.Shortfall(Level.VNEID_L2, Level.VNEID_L1)
    waiting = interaction(levels.waiting_prompt(interaction(LOGIN_L2), gap))
    assert waiting.prompt is not None and waiting.prompt["adapters"] == ["vneid"]  # "sign in another way"
    assert levels.recorded_shortfall(waiting) == gap
    assert levels.recorded_shortfall(interaction(LOGIN_L2)) is None
    assert levels.recorded_shortfall(interaction({"unmet": {"asked": "vneid-l9", "achieved": "x"}})) is None
    assert levels.page_facts(gap, "Đăng ký kinh doanh")["how_id"] == "level.how.vneid-l2"
    assert levels.page_facts(levels.Shortfall(Level.PKI_HW, Level.VNEID_L2), None)["how_id"] == "level.how.other"

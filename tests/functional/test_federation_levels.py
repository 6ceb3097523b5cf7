"""Levels that complete, at the adapter: the level a sign-in needs goes to each national sandbox
in the upstream's own vocabulary (the portal's ``LoA2``, Keycloak's ``2`` at VNeID), a level-2
citizen comes back at ``vneid-l2`` with ``vn_eid_level`` 2, a level-1 citizen asked for level 2
comes back at level 1 (never more), and a level a profile cannot give is never asked for."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.base import UpstreamRequest
from adapters.oidc.adapter import OidcUpstreamAdapter
from adapters.oidc.config import OidcConfig
from idp.sandbox import NationalSandbox
from tests.unit.sandbox.support import (  # noqa: F401 - fixtures
    CALLBACK,
    dvcqg_config,
    national,
    sandbox,
    sign_in,
    vneid_config,
)

LEVEL_2 = "048193004567"  # Trần Thị Bích Ngọc: identified at the police (e-ID level 2)
LEVEL_1 = "049201000789"  # Lê Minh Khôi: enrolled in the app only (e-ID level 1)
VNEID_LEVELS = {"1": "vneid-l1", "2": "vneid-l2"}  # as agreed with the national operator (sandbox)


def configs(running: NationalSandbox) -> dict[str, OidcConfig]:
    return {"vneid": vneid_config(running, acr_map=VNEID_LEVELS), "dvcqg": dvcqg_config(running)}


@pytest.fixture(params=["vneid", "dvcqg"])
def adapter(request: pytest.FixtureRequest, national: NationalSandbox) -> Iterator[OidcUpstreamAdapter]:  # noqa: F811
    opened = OidcUpstreamAdapter(configs(national)[request.param])
    yield opened
    opened.close()


def asked(adapter: OidcUpstreamAdapter, request: UpstreamRequest) -> dict[str, list[str]]:
    url, _ = adapter.begin(CALLBACK, request)
    return parse_qs(urlsplit(url).query)


def test_level_2_is_asked_in_each_upstreams_vocabulary_and_reached(adapter: OidcUpstreamAdapter) -> None:
    word = {"vneid": "2", "dvcqg": "LoA2"}[adapter.id]
    assert asked(adapter, UpstreamRequest(level="vneid-l2"))["acr_values"] == [word]
    callback, pending = sign_in(adapter, LEVEL_2, UpstreamRequest(level="vneid-l2"))
    identity = adapter.complete(CALLBACK, callback, pending)
    assert identity.acr == "vneid-l2" and identity.evidence["upstream_acr"] == word
    assert identity.claims["vn_eid_level"] == 2


def test_a_level_1_citizen_asked_for_level_2_comes_back_at_level_1(adapter: OidcUpstreamAdapter) -> None:
    callback, pending = sign_in(adapter, LEVEL_1, UpstreamRequest(level="vneid-l2"))
    identity = adapter.complete(CALLBACK, callback, pending)
    assert identity.acr == "vneid-l1" and identity.claims["vn_eid_level"] == 1


def test_without_a_level_the_portal_is_asked_for_loa1_and_vneid_for_nothing(adapter: OidcUpstreamAdapter) -> None:
    query = asked(adapter, UpstreamRequest())
    assert query.get("acr_values") == (["LoA1"] if adapter.id == "dvcqg" else None)
    callback, pending = sign_in(adapter, LEVEL_2)
    assert adapter.complete(CALLBACK, callback, pending).acr == "vneid-l1"  # a level-2 account, level 1 asked


def test_a_fresh_sign_in_asks_for_prompt_login_and_max_age(adapter: OidcUpstreamAdapter) -> None:
    query = asked(adapter, UpstreamRequest(level="vneid-l1", fresh=True, max_age=0))
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert "prompt" not in asked(adapter, UpstreamRequest(level="vneid-l1"))


def test_a_level_a_profile_cannot_give_is_never_asked_for(national: NationalSandbox) -> None:  # noqa: F811
    keycloak_default = vneid_config(national)  # no mapping agreed: every sign-in counts as local-basic
    assert keycloak_default.max_acr == "local-basic"
    assert keycloak_default.upstream_acr_value("vneid-l2") is None
    assert configs(national)["vneid"].max_acr == configs(national)["dvcqg"].max_acr == "vneid-l2"
    assert configs(national)["dvcqg"].upstream_acr_value("pki-hw") is None
    assert configs(national)["dvcqg"].upstream_acr_value("vneid-l1") == "LoA1"

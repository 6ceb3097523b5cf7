"""A service moving from the national portal's SSO keeps reading the portal's names: a client
registered with ``--claim-names dvcqg`` gets ``SoDinhDanh``, ``HoVaTen``, ``NgayThangNamSinh``
(YYYYMMDD), ``LoaiTaiKhoan`` and ``loginIdp`` through a real sign-in at a running ``idp serve``
(the citizen signs in through the portal's sandbox), under the same release rules: without the
restricted scope, no ``SoDinhDanh``; a client without the profile gets none of the names. ID tokens
are verified with python-jose, and the relying party reads nothing but the portal's names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt as jose_jwt

from idp.sandbox import NationalSandbox
from tests.functional.browser_client import Browser
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient
from tests.functional.test_federation_browser import (
    POLICY,
    UPSTREAM_CLIENT,
    consent_and_code,
    upstream_sign_in,
    write_configuration,
)

CITIZEN = "049066000321"  # Hồ Đắc Lộc, born 19 September 1966 (idp/sandbox/citizens.py)
CLIENTS = {"dichvu-cu": StrictClient("dichvu-cu"), "dichvu-moi": StrictClient("dichvu-moi")}
PORTAL_NAMES = ("SoDinhDanh", "HoVaTen", "NgayThangNamSinh", "LoaiTaiKhoan", "loginIdp")


@dataclass
class Moved:
    base: str


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moved]:
    root = Path(tmp_path_factory.mktemp("portal-names"))
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        env = write_configuration(root, sandbox.adapter_configs(UPSTREAM_CLIENT))
        for client_id, client in CLIENTS.items():
            args = ["clients", "add", client_id, *client.cli_args(root), "--redirect-uri",
                    f"http://127.0.0.1:9/{client_id}/cb"]
            if client_id == "dichvu-cu":  # the service that read the portal's names
                args += ["--claim-names", "dvcqg"]
            for scope in POLICY["scopes"]:
                args += ["--scope", scope]
            result = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
            assert result.returncode == 0, result.stderr
        with running_server(env) as base:
            yield Moved(base)


def portal_sign_in(moved: Moved, client_id: str, scope: str, **extra: str) -> dict[str, Any]:
    """Sign the citizen in through the portal's sandbox; the tokens, the verified ID token and userinfo."""
    browser = Browser(moved.base)
    try:
        run = PushedRun(client_id, f"http://127.0.0.1:9/{client_id}/cb", scope=scope, base=moved.base,
                        client=CLIENTS[client_id], extra=extra)
        code = consent_and_code(browser, run, upstream_sign_in(browser, run, "dvcqg", CITIZEN))["code"]
    finally:
        browser.close()
    tokens = httpx.post(moved.base + "/token", timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier, **CLIENTS[client_id].auth(moved.base)}).json()
    jwks = httpx.get(moved.base + "/jwks").json()
    id_token = jose_jwt.decode(tokens["id_token"], jwks, algorithms=["ES256", "RS256"], audience=client_id,
                               issuer=moved.base, access_token=tokens["access_token"])
    userinfo = httpx.get(moved.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 200, userinfo.text
    return {"id_token": id_token, "userinfo": userinfo.json()}


def portal_reader(claims: dict[str, Any]) -> dict[str, Any]:
    """What a service written for the portal's SSO reads: only the portal's names."""
    return {name: claims[name] for name in PORTAL_NAMES if name in claims}


def test_the_moved_service_reads_the_portal_names(moved: Moved) -> None:
    got = portal_sign_in(moved, "dichvu-cu", "openid profile vn_id vn_eid")
    assert portal_reader(got["userinfo"]) == {
        "SoDinhDanh": CITIZEN, "HoVaTen": "Hồ Đắc Lộc", "NgayThangNamSinh": "19660919",
        "LoaiTaiKhoan": "1", "loginIdp": "BCA",
    }
    assert got["userinfo"]["birthdate"] == "1966-09-19"  # the standard names stay
    assert portal_reader(got["id_token"]) == {}  # the ID token carries only what the claims parameter asks


def test_the_id_token_carries_them_when_the_claims_parameter_asks(moved: Moved) -> None:
    asked = json.dumps({"id_token": {"vn_personal_id": None, "birthdate": None}})
    got = portal_sign_in(moved, "dichvu-cu", "openid profile vn_id", claims=asked)
    assert portal_reader(got["id_token"]) == {"SoDinhDanh": CITIZEN, "NgayThangNamSinh": "19660919"}


def test_the_same_release_rules_apply(moved: Moved) -> None:
    without_vn_id = portal_sign_in(moved, "dichvu-cu", "openid profile")
    assert portal_reader(without_vn_id["userinfo"]) == {"HoVaTen": "Hồ Đắc Lộc", "NgayThangNamSinh": "19660919"}
    assert CITIZEN not in json.dumps(without_vn_id)
    other = portal_sign_in(moved, "dichvu-moi", "openid profile vn_id vn_eid")
    assert portal_reader(other["userinfo"]) == {} and other["userinfo"]["vn_personal_id"] == CITIZEN

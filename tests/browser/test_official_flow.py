"""An official signs in through the login pages in a real browser with their directory account (a
real OpenLDAP ``slapd``) and lands at a relying party; name, unit and roles come from LDAP. A wrong
password and a disabled account stay on our page with one readable message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.relying_party import (
    LoopbackRelyingParty,
    authorize_url,
    landed_params,
    on_provider,
    record_csp_by_page,
    redeem,
)
from tests.data.ldap.slapd import OFFICIAL_PASSWORD, SlapdServer, officials_provider_env
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient

HOSO = StrictClient("hoso")  # vn_official is restricted: the strict profile (PAR, private_key_jwt)
SCOPE = "openid profile email vn_official"
REFUSED = "Tên đăng nhập hoặc mật khẩu không đúng"




@pytest.fixture(scope="module")
def deployment(slapd: SlapdServer, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, LoopbackRelyingParty]]:
    """``idp serve`` whose only source for the client ``hoso`` is the directory."""
    folder = Path(tmp_path_factory.mktemp("officials-browser"))
    env = officials_provider_env(slapd, folder)
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        args = ["clients", "add", "hoso", *HOSO.cli_args(folder), "--redirect-uri", rp.redirect_uri("hoso"),
                "--name", "Hệ thống quản lý hồ sơ"]
        for scope in SCOPE.split():
            args += ["--scope", scope]
        added = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
        assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            yield base, rp
    finally:
        rp.stop()


def fill_login(page: Any, username: str, password: str) -> None:
    assert page.get_by_role("heading", level=2).inner_text().endswith("cán bộ")  # the directory's form only
    assert page.locator("a[href*='/upstream/']").count() == 0
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()


def test_official_signs_in_with_directory_claims_and_roles(page: Any, deployment: tuple) -> None:
    base, rp = deployment
    csp = record_csp_by_page(page)
    run = PushedRun("hoso", rp.redirect_uri("hoso"), scope=SCOPE, base=base, client=HOSO)
    page.goto(authorize_url(base, run))
    fill_login(page, "an.nguyen", OFFICIAL_PASSWORD)
    page.wait_for_url(f"{base}/interaction/*/consent")
    assert "vai trò" in page.locator("main").inner_text()  # consent names what it will reveal
    page.get_by_role("button", name="Đồng ý").click()
    params = landed_params(page, run)
    assert params["state"] == run.state and params["iss"] == base
    assert json.loads(page.locator("#received").inner_text())["code"] == params["code"]

    result = redeem(base, run, params["code"], HOSO.auth(base))
    claims, info = result["id_token"], result["userinfo"]
    assert claims["acr"] == f"{base}/acr/local-basic" and claims["amr"] == ["pwd"]
    assert info["name"] == "Nguyễn Văn An" and info["family_name"] == "Nguyễn"
    assert sorted(info["vn_roles"]) == ["leader", "one-stop-clerk"]
    assert on_provider(csp, base) == []


@pytest.mark.parametrize(("username", "password"), [("an.nguyen", "wrong-password-123"),
                                                    ("cuong.le", OFFICIAL_PASSWORD)])
def test_wrong_password_and_disabled_account_stay_on_the_login_page(page: Any, deployment: tuple, username: str,
                                                                    password: str) -> None:
    base, rp = deployment
    run = PushedRun("hoso", rp.redirect_uri("hoso"), scope=SCOPE, base=base, client=HOSO)
    page.goto(authorize_url(base, run))
    fill_login(page, username, password)
    page.wait_for_load_state()
    assert page.url.startswith(base + "/interaction/")  # still with us: the relying party got nothing
    assert REFUSED in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Mật khẩu").input_value() == ""  # the password is never sent back
    assert page.csp_errors == []

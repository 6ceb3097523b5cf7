"""Acting for an organisation, in headless Chromium: an employee of a sandbox organisation signs in
for themselves through the national portal's sandbox at a service whose policy accepts
organisations, chooses the organisation on the provider's page, sees the consent page name it, and
the service's ID token (verified with python-jose) carries the organisation's claims, ``sub`` for
the organisation and ``act`` for the person (RFC 8693 §4.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from idp.sandbox import ORGANISATIONS, NationalSandbox, SandboxClient
from tests.browser.relying_party import (
    LoopbackRelyingParty,
    authorize_url,
    landed_params,
    on_provider,
    record_csp_by_page,
    redeem,
)
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient

UPSTREAM_CLIENT = SandboxClient("provincial-idp", "sandbox-secret-0123456789")
SERVICE = StrictClient("doanhnghiep")  # vn_org is restricted: the strict profile
EMPLOYEE = "048193004567"  # works for both sandbox organisations
SONG_HAN = ORGANISATIONS[0]
ORGANISATION_CLAIMS = ("vn_acting_for", "vn_org_tax_code", "vn_org_eid", "vn_org_name")
POLICY = {"version": 1, "client_id": "doanhnghiep", "description": "Dịch vụ cho doanh nghiệp",
          "adapters": ["dvcqg"], "minimum_acr": "vneid-l1", "organisations": True,
          "scopes": ["openid", "profile", "vn_org"]}


@dataclass(frozen=True)
class Deployment:
    base: str
    rp: LoopbackRelyingParty


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("acting"))
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
            entries = sandbox.adapter_configs(UPSTREAM_CLIENT, timeout_seconds=5)
            entries[0]["acr_map"] = {"1": "vneid-l1", "2": "vneid-l2"}
            (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": entries}, allow_unicode=True))
            (root / "policies").mkdir()
            (root / "policies" / "doanhnghiep.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
            env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
                   "IDP_POLICIES_DIR": str(root / "policies")}
            added = call_idp(["clients", "add", "doanhnghiep", *SERVICE.cli_args(root), "--name",
                             "Dịch vụ cho doanh nghiệp", "--scope", "openid", "--scope", "profile", "--scope",
                             "vn_org", "--redirect-uri", rp.redirect_uri("doanhnghiep")],
                            env | {"IDP_AUTO_MIGRATE": "true"})
            assert added.returncode == 0, added.stderr
            with running_server(env) as base:
                yield Deployment(base, rp)
    finally:
        rp.stop()


def test_an_employee_chooses_to_act_for_their_organisation(page: Any, deployment: Deployment) -> None:
    base = deployment.base
    csp = record_csp_by_page(page)
    run = PushedRun("doanhnghiep", deployment.rp.redirect_uri("doanhnghiep"), scope="openid profile vn_org",
                    extra={"claims": json.dumps({"id_token": dict.fromkeys(ORGANISATION_CLAIMS)})}, base=base,
                    client=SERVICE)
    page.goto(authorize_url(base, run))
    page.locator("a[href$='/upstream/dvcqg']").click()
    page.locator(f"input[name=citizen][value='{EMPLOYEE}']").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()

    page.wait_for_url(f"{base}/interaction/*/organisation")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Bạn thực hiện với tư cách nào?"
    assert page.get_by_label("Chính tôi (cá nhân)").is_checked()  # oneself unless the person chooses
    page.get_by_label(SONG_HAN.name, exact=False).check()
    page.get_by_role("button", name="Tiếp tục").click()

    page.wait_for_url(f"{base}/interaction/*/consent")
    assert f"thay mặt cho tổ chức: {SONG_HAN.name}" in page.locator("main").inner_text()
    page.get_by_role("button", name="Đồng ý").click()
    params = landed_params(page, run)
    assert "error" not in params, params

    answer = redeem(base, run, params["code"], SERVICE.auth(base))  # python-jose verifies the ID token
    claims = answer["id_token"]
    assert {name: claims[name] for name in ORGANISATION_CLAIMS} == {
        "vn_acting_for": SONG_HAN.tax_code, "vn_org_tax_code": SONG_HAN.tax_code,
        "vn_org_eid": SONG_HAN.org_eid, "vn_org_name": SONG_HAN.name}
    assert set(claims["act"]) == {"sub"} and claims["act"]["sub"] != claims["sub"]
    assert answer["userinfo"]["sub"] == claims["sub"] and EMPLOYEE not in json.dumps(answer)
    assert on_provider(csp, base) == []

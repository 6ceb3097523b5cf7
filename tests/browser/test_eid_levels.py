"""E-ID level 2 that completes, in headless Chromium: a service whose policy needs VNeID level 2
(``minimum_acr: vneid-l2``) at ``idp serve`` whose upstreams are the national sandbox.

A level-2 citizen reaches it through VNeID and through the national portal (each is asked for
level 2 in its own words, ``2`` and ``LoA2``); a level-1 citizen sees the page that says which
level is needed and how to reach it (identification at the police), never the login page again,
and going back from it the service gets ``unmet_authentication_requirements``, as it does when it
asks with ``prompt=none``; the audit trail records the refusal with the asked and achieved level.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from idp.sandbox import NationalSandbox, SandboxClient
from tests.browser.relying_party import LoopbackRelyingParty, authorize_url, landed_params, redeem
from tests.functional.browser_client import AuthorizationRun
from tests.functional.helpers import call_idp, running_server

UPSTREAM_CLIENT = SandboxClient("provincial-idp", "sandbox-secret-0123456789")  # any loopback callback
CLIENT, SECRET = "dangky-kinhdoanh", "s3cret-of-the-level-2-service-0123456789"
LEVEL_2, LEVEL_1 = "048193004567", "049201000789"  # Trần Thị Bích Ngọc (police-verified), Lê Minh Khôi (app only)
POLICY = {"version": 1, "description": "Đăng ký kinh doanh: cần định danh điện tử mức độ 2",
          "adapters": ["vneid", "dvcqg"], "minimum_acr": "vneid-l2", "scopes": ["openid", "profile"]}


@dataclass(frozen=True)
class Deployment:
    base: str
    data: Path
    rp: LoopbackRelyingParty


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("levels"))
    rp = LoopbackRelyingParty()
    rp.start()
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        entries = sandbox.adapter_configs(UPSTREAM_CLIENT, timeout_seconds=2)
        entries[0]["acr_map"] = {"1": "vneid-l1", "2": "vneid-l2"}  # as agreed with the national operator
        (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": entries}, allow_unicode=True))
        (root / "policies").mkdir()
        (root / "policies" / "default.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
        env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
               "IDP_POLICIES_DIR": str(root / "policies")}
        added = call_idp(["clients", "add", CLIENT, "--secret-stdin", "--name", "Đăng ký kinh doanh",
                         "--redirect-uri", rp.redirect_uri(CLIENT)], env | {"IDP_AUTO_MIGRATE": "true"},
                        stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            yield Deployment(base, root / "var", rp)
    rp.stop()


def at_sandbox(page: Any, deployment: Deployment, upstream: str, citizen: str) -> None:
    """On our login page, choose ``upstream``; at the sandbox, sign in as ``citizen``; consent when
    asked."""
    page.locator(f"a[href$='/upstream/{upstream}']").click()
    page.wait_for_url(f"**/{upstream}/**")
    page.locator(f"input[name=citizen][value='{citizen}']").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()
    # Back at the provider, or straight at the service when this person consented to it before.
    page.wait_for_url(lambda url: url.startswith((deployment.base + "/", deployment.rp.base + "/")))
    if "/consent" in page.url:
        page.get_by_role("button", name="Đồng ý").click()


@pytest.mark.parametrize("upstream", ["vneid", "dvcqg"])
def test_a_level_2_citizen_reaches_a_level_2_service(page: Any, deployment: Deployment, upstream: str) -> None:
    run = AuthorizationRun(CLIENT, deployment.rp.redirect_uri(CLIENT), scope="openid profile")
    page.goto(authorize_url(deployment.base, run))
    at_sandbox(page, deployment, upstream, LEVEL_2)
    params = landed_params(page, run)
    assert "error" not in params, params
    tokens = redeem(deployment.base, run, params["code"], SECRET)  # ID token verified with python-jose
    assert tokens["id_token"]["acr"] == f"{deployment.base}/acr/vneid-l2"
    assert tokens["userinfo"]["name"] == "Trần Thị Bích Ngọc"


def test_a_level_1_citizen_is_told_how_to_reach_level_2_and_the_service_is_told_unmet(
        page: Any, deployment: Deployment) -> None:
    run = AuthorizationRun(CLIENT, deployment.rp.redirect_uri(CLIENT), scope="openid profile")
    page.goto(authorize_url(deployment.base, run))
    at_sandbox(page, deployment, "vneid", LEVEL_1)
    assert page.url.endswith("/level_unmet")  # the explanation, not the login page again
    assert page.locator("html").get_attribute("lang") == "vi"
    text = page.locator("main").inner_text() if page.locator("main").count() else page.content()
    assert "mức độ 2" in text and "Công an" in text and "vân tay" in text
    assert page.locator("input[name=citizen]").count() == 0 and page.locator("input[type=password]").count() == 0
    assert page.csp_errors == []
    unmet_page = page.url
    page.goto(unmet_page + "?ui_locales=en")
    assert "police" in page.locator("main").inner_text() and page.locator("html").get_attribute("lang") == "en"
    page.goto(unmet_page + "?ui_locales=vi")
    page.get_by_role("button", name="Quay lại dịch vụ").click()
    params = landed_params(page, run)
    assert params["error"] == "unmet_authentication_requirements" and "code" not in params

    silent = AuthorizationRun(CLIENT, deployment.rp.redirect_uri(CLIENT), scope="openid profile",
                              extra={"prompt": "none"})
    page.goto(authorize_url(deployment.base, silent))  # signed in at level 1 now: no page at all
    params = landed_params(page, silent)
    assert params["error"] == "unmet_authentication_requirements" and "code" not in params

    with sqlite3.connect(deployment.data / "idp.sqlite3") as db:
        refusals = db.execute("SELECT acr, details FROM audit_events WHERE type = 'signin' AND outcome = 'denied' "
                              "AND reason = 'acr_unmet' AND client_id = ?", (CLIENT,)).fetchall()
        silent_refusals = db.execute("SELECT reason FROM audit_events WHERE type = 'signin' AND outcome = 'denied' "
                                     "AND client_id = ? AND reason LIKE 'prompt=none%'", (CLIENT,)).fetchall()
    assert len(refusals) == 1
    acr, details = refusals[0]
    assert acr.endswith("/acr/vneid-l1")
    assert {"asked": "vneid-l2", "achieved": "vneid-l1"}.items() <= json.loads(details).items()
    assert silent_refusals and "vneid-l1" in silent_refusals[0][0] and "vneid-l2" in silent_refusals[0][0]


def test_the_sign_in_history_names_the_adapter_in_each_language(page: Any, deployment: Deployment) -> None:
    run = AuthorizationRun(CLIENT, deployment.rp.redirect_uri(CLIENT), scope="openid profile")
    page.goto(authorize_url(deployment.base, run))
    at_sandbox(page, deployment, "dvcqg", LEVEL_2)
    assert "code" in landed_params(page, run)
    page.goto(f"{deployment.base}/account")
    history = page.locator("#signins-heading ~ div table").first.inner_text()
    assert "Cổng Dịch vụ công quốc gia" in history and "dvcqg" not in history
    page.goto(f"{deployment.base}/account?ui_locales=en")
    history = page.locator("#signins-heading ~ div table").first.inner_text()
    assert "National Public Service Portal" in history and "dvcqg" not in history

"""An organisation signs in: the legal representative of a sandbox organisation uses its
organisation e-ID account at the national portal to reach a service whose policy accepts
organisations (``organisations: true``); the service's ID token (verified with python-jose) and
userinfo carry the organisation's claims and never the representative's personal ID number. The
same session does not reach a service made for citizens: there the person is asked to sign in as
themselves (the login page says why), and ``prompt=none`` gets ``login_required``.

Only HTTP, as people and relying parties see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from idp.sandbox import ORGANISATIONS, NationalSandbox
from tests.functional.browser_client import Browser, callback_params
from tests.functional.helpers import run_idp, running_server
from tests.functional.strict_rp import PushedRun
from tests.functional.test_federation_browser import (
    CLIENTS,
    UPSTREAM_CLIENT,
    Deployment,
    consent_and_code,
    redeem,
    upstream_sign_in,
)

SONG_HAN = ORGANISATIONS[0]
FOR_BUSINESSES = {"version": 1, "client_id": "portal", "description": "Dịch vụ cho doanh nghiệp",
                  "adapters": ["vneid", "dvcqg"], "minimum_acr": "vneid-l1", "organisations": True,
                  "scopes": ["openid", "profile", "vn_org"]}
FOR_CITIZENS = {"version": 1, "description": "Dịch vụ cho công dân", "adapters": ["vneid", "dvcqg"],
                "minimum_acr": "vneid-l1", "scopes": ["openid", "profile", "vn_org"]}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("organisations"))
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        entries = sandbox.adapter_configs(UPSTREAM_CLIENT, timeout_seconds=2)
        entries[0]["acr_map"] = {"1": "vneid-l1", "2": "vneid-l2"}  # as agreed with the national operator
        (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": entries}, allow_unicode=True))
        (root / "policies").mkdir()
        (root / "policies" / "portal.yaml").write_text(yaml.safe_dump(FOR_BUSINESSES, allow_unicode=True))
        (root / "policies" / "default.yaml").write_text(yaml.safe_dump(FOR_CITIZENS, allow_unicode=True))
        env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
               "IDP_POLICIES_DIR": str(root / "policies")}
        for client_id, client in CLIENTS.items():
            args = ["clients", "add", client_id, "--name", f"Dịch vụ {client_id}", *client.cli_args(root),
                    "--redirect-uri", f"http://127.0.0.1:9/{client_id}/cb"]
            for scope in FOR_BUSINESSES["scopes"]:
                args += ["--scope", scope]
            added = run_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
            assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            yield Deployment(base, root / "var", sandbox)


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[Browser]:
    person = Browser(deployment.base)
    yield person
    person.close()


def run_for(dep: Deployment, client_id: str, **extra: str) -> PushedRun:
    return PushedRun(client_id, dep.redirect_uri(client_id), scope="openid profile vn_org", base=dep.base,
                     client=CLIENTS[client_id], extra=extra)


def test_an_organisation_reaches_a_service_for_businesses_only(deployment: Deployment, browser: Browser) -> None:
    business = run_for(deployment, "portal")
    params = consent_and_code(browser, business, upstream_sign_in(browser, business, "dvcqg", SONG_HAN.account))
    tokens = redeem(deployment, business, params["code"])  # python-jose verifies the ID token
    assert tokens["id_token"]["aud"] == "portal" and tokens["id_token"]["acr"].endswith("/acr/vneid-l1")
    userinfo = tokens["userinfo"]
    assert userinfo["vn_org_tax_code"] == SONG_HAN.tax_code and userinfo["vn_org_eid"] == SONG_HAN.org_eid
    assert userinfo["vn_org_name"] == userinfo["name"] == SONG_HAN.name
    assert SONG_HAN.representative not in str(tokens)  # the representative's number, nowhere

    citizens_only = run_for(deployment, "motcua")  # the same session, a service for citizens
    page = browser.follow(browser.http.get("/authorize", params=citizens_only.params()),
                          stop_at=citizens_only.redirect_uri)
    assert page.status_code == 200 and re.search(r"/upstream/dvcqg", page.text)  # sign in as a person
    assert "không nhận tài khoản định danh điện tử của tổ chức" in page.text  # told why
    silent = run_for(deployment, "motcua", prompt="none")
    answer = callback_params(browser.http.get("/authorize", params=silent.params()))
    assert answer["error"] == "login_required" and "code" not in answer

"""An organisation signs in: the legal representative of a sandbox organisation uses its
organisation e-ID account at the national portal to reach a service whose policy accepts
organisations (``organisations: true``); the service's ID token (verified with python-jose) and
userinfo carry the organisation's claims and never the representative's personal ID number. The
same session does not reach a service made for citizens: there the person is asked to sign in as
themselves (the login page says why), and ``prompt=none`` gets ``login_required``.

Only HTTP, as people and relying parties see it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from jose import jwt as jose_jwt

from idp.sandbox import ORGANISATIONS, NationalSandbox
from tests.functional.browser_client import Browser, callback_params
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun
from tests.functional.test_federation_browser import (
    CLIENTS,
    UPSTREAM_CLIENT,
    Deployment,
    consent_and_code,
    redeem,
    upstream_sign_in,
)

SONG_HAN, HOA_VANG = ORGANISATIONS
ORGANISATION_CLAIMS = ("vn_acting_for", "vn_org_tax_code", "vn_org_eid", "vn_org_name")
FOR_BUSINESSES = {"version": 1, "client_id": "portal", "description": "Dịch vụ cho doanh nghiệp",
                  "adapters": ["vneid", "dvcqg"], "minimum_acr": "vneid-l1", "organisations": True,
                  "scopes": ["openid", "profile", "vn_org", "offline_access"]}
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
            added = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"})
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


def exchange(dep: Deployment, client_id: str, **form: str) -> dict:
    answer = httpx.post(dep.base + "/token", data={**form, **CLIENTS[client_id].auth(dep.base)}, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def verified(dep: Deployment, tokens: dict) -> dict:
    """The ID token of a token response, verified with python-jose."""
    return dict(jose_jwt.decode(tokens["id_token"], httpx.get(dep.base + "/jwks").json(), algorithms=["ES256", "RS256"],
                                audience="portal", issuer=dep.base, access_token=tokens["access_token"]))


def events(dep: Deployment) -> list[tuple]:
    with sqlite3.connect(dep.data / "idp.sqlite3") as db:
        return db.execute("SELECT outcome, subject, client_id, reason, details FROM audit_events "
                          "WHERE type = 'signin' AND details LIKE '%acting_for%' ORDER BY seq").fetchall()


def test_an_employee_acts_for_their_organisation_per_authorization(deployment: Deployment, browser: Browser) -> None:
    employee = "048193004567"  # works for both sandbox organisations
    business = PushedRun("portal", deployment.redirect_uri("portal"), scope="openid profile vn_org offline_access",
                         base=deployment.base, client=CLIENTS["portal"],
                         extra={"claims": json.dumps({"id_token": dict.fromkeys(ORGANISATION_CLAIMS)})})
    page = upstream_sign_in(browser, business, "dvcqg", employee)
    assert page.status_code == 200 and "Bạn thực hiện với tư cách nào?" in page.text
    assert SONG_HAN.name in page.text and HOA_VANG.name in page.text and "nhân viên" in page.text
    consent = browser.follow(browser.submit(page, {"acting_for": SONG_HAN.tax_code}),
                             stop_at=business.redirect_uri)
    assert f"thay mặt cho tổ chức: {SONG_HAN.name}" in consent.text  # the consent page names it
    issued = exchange(deployment, "portal", grant_type="authorization_code", redirect_uri=business.redirect_uri,
                      code=consent_and_code(browser, business, consent)["code"], code_verifier=business.verifier)
    token = verified(deployment, issued)
    userinfo = httpx.get(deployment.base + "/userinfo",
                         headers={"Authorization": f"Bearer {issued['access_token']}"}).json()
    acting = {"id_token": token, "userinfo": userinfo}
    assert token["vn_acting_for"] == token["vn_org_tax_code"] == SONG_HAN.tax_code
    assert token["vn_org_name"] == SONG_HAN.name and token["vn_org_eid"] == SONG_HAN.org_eid
    assert userinfo == {"sub": token["sub"], **{name: token[name] for name in ORGANISATION_CLAIMS}}
    assert employee not in str(acting)

    refreshed = verified(deployment, exchange(deployment, "portal", grant_type="refresh_token",
                                              refresh_token=issued["refresh_token"]))
    assert (refreshed["sub"], refreshed["act"]) == (token["sub"], token["act"])  # the grant keeps the choice

    again = PushedRun("portal", deployment.redirect_uri("portal"), scope="openid profile vn_org offline_access",
                      base=deployment.base, client=CLIENTS["portal"])  # the next authorization asks again
    page = browser.follow(browser.http.get("/authorize", params=again.params()), stop_at=again.redirect_uri)
    assert "Bạn thực hiện với tư cách nào?" in page.text
    code = consent_and_code(browser, again, browser.follow(browser.submit(page, {"acting_for": "self"}),
                                                           stop_at=again.redirect_uri))["code"]
    mine = exchange(deployment, "portal", grant_type="authorization_code", redirect_uri=again.redirect_uri, code=code,
                    code_verifier=again.verifier)
    own = verified(deployment, mine)
    assert token["act"] == {"sub": own["sub"]} and token["sub"] != own["sub"]  # RFC 8693: sub acted for
    assert "act" not in own and "vn_acting_for" not in own
    own_refreshed = verified(deployment, exchange(deployment, "portal", grant_type="refresh_token",
                                                  refresh_token=mine["refresh_token"]))
    assert own_refreshed["sub"] == own["sub"] and "act" not in own_refreshed  # not the organisation's grant

    citizens = run_for(deployment, "motcua")  # a service that does not accept organisations: no page
    answer = browser.follow(browser.http.get("/authorize", params=citizens.params()), stop_at=citizens.redirect_uri)
    assert "Bạn thực hiện với tư cách nào?" not in answer.text
    assert "act" not in redeem(deployment, citizens, consent_and_code(browser, citizens, answer)["code"])["id_token"]
    [chosen] = [e for e in events(deployment) if e[0] == "success"]
    assert chosen[2] == "portal" and json.loads(chosen[4])["acting_for"] == SONG_HAN.tax_code


def test_acting_for_an_organisation_not_entitled_is_refused_and_audited(deployment: Deployment,
                                                                        browser: Browser) -> None:
    business = run_for(deployment, "portal")
    page = upstream_sign_in(browser, business, "dvcqg", "049066000321")  # works for Hòa Vang only
    assert HOA_VANG.name in page.text and SONG_HAN.name not in page.text
    refused = browser.submit(page, {"acting_for": SONG_HAN.tax_code})  # a tampered form
    assert refused.status_code == 403 and "Không thể thay mặt tổ chức này" in refused.text
    assert "code=" not in refused.headers.get("location", "")
    [denied] = [e for e in events(deployment) if e[0] == "denied"]
    assert denied[2:4] == ("portal", "organisation_not_entitled")
    assert json.loads(denied[4])["acting_for"] == SONG_HAN.tax_code


def test_two_pending_codes_with_different_choices_never_share_a_refresh(deployment: Deployment,
                                                                        browser: Browser) -> None:
    def choose(run: PushedRun, page: httpx.Response, choice: str) -> str:
        assert "Bạn thực hiện với tư cách nào?" in page.text
        return consent_and_code(browser, run, browser.follow(browser.submit(page, {"acting_for": choice}),
                                                             stop_at=run.redirect_uri))["code"]

    runs = [PushedRun("portal", deployment.redirect_uri("portal"), scope="openid profile vn_org offline_access",
                      base=deployment.base, client=CLIENTS["portal"]) for _ in range(2)]
    acting = choose(runs[0], upstream_sign_in(browser, runs[0], "dvcqg", "048193004567"), SONG_HAN.tax_code)
    own = choose(runs[1], browser.follow(browser.http.get("/authorize", params=runs[1].params()),
                                         stop_at=runs[1].redirect_uri), "self")
    mine = exchange(deployment, "portal", grant_type="authorization_code", redirect_uri=runs[1].redirect_uri,
                    code=own, code_verifier=runs[1].verifier)  # the session's grant, opened for the person
    late = httpx.post(deployment.base + "/token", data={
        "grant_type": "authorization_code", "redirect_uri": runs[0].redirect_uri, "code": acting,
        "code_verifier": runs[0].verifier, **CLIENTS["portal"].auth(deployment.base)}, timeout=30)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"  # not under the person's grant
    refreshed = verified(deployment, exchange(deployment, "portal", grant_type="refresh_token",
                                              refresh_token=mine["refresh_token"]))
    assert "act" not in refreshed


def test_the_organisation_is_one_sub_whether_it_signs_in_or_is_acted_for(deployment: Deployment) -> None:
    """Its own account (the representative at the portal) and an employee acting for it: the
    service sees the same ``sub``, one organisation (both derived from its tax code)."""
    signed_in, acted_for = Browser(deployment.base), Browser(deployment.base)
    try:
        own = run_for(deployment, "portal")
        itself = redeem(deployment, own, consent_and_code(
            signed_in, own, upstream_sign_in(signed_in, own, "dvcqg", SONG_HAN.account))["code"])
        employee = run_for(deployment, "portal")
        page = upstream_sign_in(acted_for, employee, "dvcqg", "048193004567")
        consent = acted_for.follow(acted_for.submit(page, {"acting_for": SONG_HAN.tax_code}),
                                   stop_at=employee.redirect_uri)
        acting = redeem(deployment, employee, consent_and_code(acted_for, employee, consent)["code"])
    finally:
        signed_in.close()
        acted_for.close()
    assert itself["userinfo"]["vn_org_tax_code"] == acting["userinfo"]["vn_org_tax_code"] == SONG_HAN.tax_code
    sub = itself["id_token"]["sub"]
    assert acting["id_token"]["sub"] == acting["userinfo"]["sub"] == sub and acting["id_token"]["act"]["sub"] != sub


def test_the_export_of_personal_data_names_the_organisations_and_their_source(deployment: Deployment,
                                                                              browser: Browser) -> None:
    """Law 91/2025's right of access: whom the person may act for, and that the portal said so."""
    employee = "048193004567"
    run = run_for(deployment, "motcua")  # a citizens' service: no page, the sign-in names them all the same
    consent_and_code(browser, run, upstream_sign_in(browser, run, "dvcqg", employee))
    exported = browser.http.get("/account/data.json").json()["organisations"]
    assert [(o["tax_code"], o["name"], o["org_eid"], o["role"], o["source"], o["adapter"]) for o in exported] == [
        (org.tax_code, org.name, org.org_eid, "employee", "upstream", "dvcqg") for org in (SONG_HAN, HOA_VANG)]
    assert all(o["named_at"] < o["kept_until"] for o in exported)
    page = browser.http.get("/account/data").text
    section = page[page.index('id="organisations-heading"'):page.index('id="releases-heading"')]
    assert "Tổ chức bạn được thay mặt" in section and f"mã số thuế {SONG_HAN.tax_code}" in section
    assert HOA_VANG.name in section and f"theo {exported[0]['adapter_name']['vi']} khi bạn đăng nhập" in section

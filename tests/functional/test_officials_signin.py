"""An official signs in with their directory account (a real OpenLDAP slapd) through the login
pages to a relying party; claims and roles come from LDAP. A disabled account, a wrong password,
an LDAP-injection username and a stopped directory each get the right page and audit event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.data.ldap.slapd import SlapdServer, officials_provider_env
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, forms
from tests.functional.helpers import call_idp, running_server
from tests.functional.strict_rp import PushedRun, StrictClient

BASE_DN = "dc=danang,dc=gov,dc=vn"
OFFICIAL_PASSWORD = "Mat-khau-thu-nghiem-2025"
HOSO = StrictClient("hoso")  # vn_official is restricted: the strict profile




@pytest.fixture(scope="module")
def provider(slapd: SlapdServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    folder = Path(tmp_path_factory.mktemp("officials"))
    env = officials_provider_env(slapd, folder)
    added = call_idp(["clients", "add", "hoso", *HOSO.cli_args(folder), "--redirect-uri", "http://127.0.0.1:9/hoso/cb",
                     "--scope", "openid", "--scope", "profile", "--scope", "email", "--scope", "vn_official",
                     "--name", "Hệ thống quản lý hồ sơ"], env)
    assert added.returncode == 0, added.stderr
    with running_server(env) as base:
        yield base, env


def login_page(base: str) -> tuple[Browser, AuthorizationRun, httpx.Response]:
    browser = Browser(base)
    run = PushedRun("hoso", "http://127.0.0.1:9/hoso/cb", scope="openid profile vn_official", base=base, client=HOSO)
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    assert page.status_code == 200 and "Tài khoản cán bộ" in page.text
    return browser, run, page


def audit_events(env: dict) -> list[dict]:
    exported = call_idp(["audit", "export", "--since", "1h", "--format", "jsonl"], env)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


def test_official_signs_in_with_directory_claims_and_roles(provider: tuple[str, dict]) -> None:
    base, _ = provider
    browser, run, page = login_page(base)
    assert [f[1].get("adapter") for f in forms(page.text)] == ["officials"]  # the policy allows only LDAP
    response = browser.follow(browser.submit(page, {"username": "an.nguyen", "password": OFFICIAL_PASSWORD}),
                              stop_at=run.redirect_uri)
    assert 'name="decision"' in response.text and "vai trò" in response.text  # consent names what it reveals
    response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=run.redirect_uri)
    code = callback_params(response)["code"]
    tokens = httpx.post(base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier, **HOSO.auth(base)}).json()
    info = httpx.get(base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["name"] == "Nguyễn Văn An"
    assert sorted(info["vn_roles"]) == ["leader", "one-stop-clerk"]
    browser.close()


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("an.nguyen", "wrong-password-123", "invalid_credentials"),
        ("cuong.le", OFFICIAL_PASSWORD, "account_disabled"),
        ("*)(uid=*", OFFICIAL_PASSWORD, "invalid_credentials"),
        ("an.nguye*", OFFICIAL_PASSWORD, "invalid_credentials"),
    ],
)
def test_refused_sign_ins_get_one_message_and_an_audit_event(provider: tuple[str, dict], username: str,
                                                             password: str, reason: str) -> None:
    base, env = provider
    browser, run, page = login_page(base)
    refused = browser.submit(page, {"username": username, "password": password})
    assert refused.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in refused.text
    events = [e for e in audit_events(env) if e["type"] == "signin" and e.get("username") == username]
    assert events and events[-1]["outcome"] == "failure" and events[-1]["reason"] == reason
    browser.close()


def test_stopped_directory_is_not_a_wrong_password(provider: tuple[str, dict], slapd: SlapdServer) -> None:
    base, env = provider
    browser, run, page = login_page(base)
    slapd.stop()
    try:
        refused = browser.submit(page, {"username": "binh.tran", "password": OFFICIAL_PASSWORD})
    finally:
        slapd.start()
    assert refused.status_code == 503
    assert "mật khẩu không đúng" not in refused.text
    events = [e for e in audit_events(env) if e.get("username") == "binh.tran"]
    assert events[-1]["reason"] == "source_unavailable"
    browser.close()

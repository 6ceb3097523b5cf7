"""Changes in the officials' directory reach relying parties (a real OpenLDAP slapd, a running
provider on each backend): a role taken away or an agency changed shows at the next sign-in and at
the next refresh after the recheck interval, an account disabled or deleted in the directory ends
its refresh tokens, and the audit trail records the change of roles. Failed sign-ins under the
different names of one directory account (sAMAccountName, userPrincipalName, any case) count
against that one account."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import postgres_redis_env
from tests.data.ldap.slapd import BASE_DN, OFFICIAL_PASSWORD, SERVICE_DN, SERVICE_PASSWORD, SlapdServer
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, forms
from tests.functional.helpers import call_idp, running_server
from tests.functional.profile_rp import RpKey, client_assertion

REDIRECT = "http://127.0.0.1:9/hoso/cb"
SCOPE = "openid profile vn_official offline_access"
RECHECK_SECONDS = 1
PEOPLE, GROUPS, AD = f"ou=people,{BASE_DN}", f"ou=groups,{BASE_DN}", f"ou=ad,{BASE_DN}"
OLD_AGENCY, NEW_AGENCY = "000.00.12.H17", "000.00.31.H17"


@dataclass(frozen=True)
class Directory:
    """This module's own officials (a suffix keeps the two backends' runs apart) in the shared slapd."""

    slapd: SlapdServer
    suffix: str

    def uid(self, name: str) -> str:
        return f"{name}.{self.suffix}"

    def dn(self, name: str) -> str:
        return f"uid={self.uid(name)},{PEOPLE}"

    @property
    def approvers(self) -> str:
        return f"cn=phe-duyet-{self.suffix},{GROUPS}"

    def change(self, dn: str, changes: dict[str, Any]) -> None:
        from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

        admin = self.slapd.admin()
        try:
            operations = {name: [(MODIFY_DELETE, value[1:])] if isinstance(value, tuple) and value[0] == "-"
                          else [(MODIFY_REPLACE, value)] for name, value in changes.items()}
            assert admin.modify(dn, operations), admin.result
        finally:
            admin.unbind()

    def delete(self, dn: str) -> None:
        admin = self.slapd.admin()
        try:
            assert admin.delete(dn), admin.result
        finally:
            admin.unbind()


def _add_entries(slapd: SlapdServer, suffix: str) -> Directory:
    directory = Directory(slapd, suffix)
    admin = slapd.admin()
    try:
        for name, full_name in (("khoa.dang", "Đặng Văn Khoa"), ("lan.mai", "Mai Thị Lan"),
                                ("minh.ngo", "Ngô Văn Minh"), ("nga.bui", "Bùi Thị Nga"), ("oanh.vu", "Vũ Thị Oanh")):
            family, given = full_name.split()[0], full_name.split()[-1]
            assert admin.add(directory.dn(name), ["inetOrgPerson"], {
                "uid": directory.uid(name), "cn": full_name, "sn": family, "givenName": given,
                "ou": "Sở Tài chính", "departmentNumber": OLD_AGENCY, "userPassword": OFFICIAL_PASSWORD,
            }), admin.result
        members = [directory.dn(name) for name in ("khoa.dang", "lan.mai", "minh.ngo", "nga.bui", "oanh.vu")]
        assert admin.add(directory.approvers, ["groupOfNames"], {"cn": f"phe-duyet-{suffix}", "member": members})
        assert admin.add(f"cn=khanh.ly.{suffix},{AD}", ["user"], {
            "cn": f"khanh.ly.{suffix}", "sn": "Lý", "givenName": "Khánh", "displayName": "Lý Văn Khánh",
            "sAMAccountName": f"khanh.ly.{suffix}", "userPrincipalName": f"khanh.ly.{suffix}@danang.gov.vn",
            "userAccountControl": "512", "pwdLastSet": "133800000000000000",
            "accountExpires": "9223372036854775807", "objectGUID": uuid.uuid4().bytes_le,
            "userPassword": OFFICIAL_PASSWORD,
        }), admin.result
    finally:
        admin.unbind()
    return directory


@dataclass(frozen=True)
class Deployment:
    base: str
    env: dict[str, str]
    directory: Directory
    key: RpKey

    def auth(self) -> dict[str, str]:
        """The relying party's private_key_jwt authentication (the strict profile of vn_official)."""
        return client_assertion(self.key, "hoso", self.base)


def _register(env: dict[str, str], key: RpKey) -> None:
    """The relying party, with the strict profile a restricted scope needs (private_key_jwt, PAR)."""
    from idp.clients.service import register_client
    from idp.runtime import open_storage
    from idp.settings import Settings

    storage = open_storage(Settings(**{k[4:].lower(): v for k, v in env.items()}), migrate=True)  # type: ignore[arg-type]
    try:
        register_client(storage, "hoso", auth_method="private_key_jwt", redirect_uris=[REDIRECT],
                        grant_types=("authorization_code", "refresh_token"), scopes=tuple(SCOPE.split()),
                        name="Hệ thống quản lý hồ sơ",
                        extra={"jwks": {"keys": [key.public_jwk()]}, "require_pushed_authorization_requests": True})
    finally:
        storage.close()


def _environment(slapd: SlapdServer, folder: Path, suffix: str) -> dict[str, str]:
    common = {"urls": [slapd.ldaps_url], "ca_file": str(slapd.ca_file), "bind_dn": SERVICE_DN,
              "bind_password": SERVICE_PASSWORD, "connect_timeout": 1.0, "receive_timeout": 2}
    adapters = [
        {"id": "officials", "type": "ldap", **common, "user_base_dn": PEOPLE, "group_base_dn": GROUPS,
         "claims": {"name": "cn", "family_name": "sn", "given_name": "givenName", "vn_unit": "ou",
                    "vn_agency_code": "departmentNumber"},
         "roles": {f"phe-duyet-{suffix}": "approver", "mot-cua": "one-stop-clerk"},
         "display_name": {"vi": "Tài khoản cán bộ", "en": "Staff account"}},
        {"id": "officials-ad", "type": "ldap", "directory": "active_directory", **common, "user_base_dn": AD,
         "claims": {"name": "displayName"}, "display_name": {"vi": "Tài khoản miền", "en": "Domain account"}},
    ]
    (folder / "adapters.yaml").write_text(json.dumps({"adapters": adapters}))
    policies = folder / "policies"
    policies.mkdir()
    (policies / "default.yaml").write_text("version: 1\nadapters: []\nscopes: [openid]\n")
    (policies / "hoso.yaml").write_text("version: 1\nclient_id: hoso\nadapters: [officials, officials-ad]\n"
                                        "scopes: [openid, profile, vn_official, offline_access]\n")
    return {"IDP_DATA_DIR": str(folder / "var"), "IDP_ADAPTERS_FILE": str(folder / "adapters.yaml"),
            "IDP_POLICIES_DIR": str(policies), "IDP_LOGIN_BACKOFF_SECONDS": "0", "IDP_LOGIN_LOCK_THRESHOLD": "3",
            "IDP_DIRECTORY_RECHECK_SECONDS": str(RECHECK_SECONDS)}


@pytest.fixture(scope="module", params=["embedded", "postgres+redis"])
def deployment(request: pytest.FixtureRequest, slapd: SlapdServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    suffix = secrets.token_hex(3)
    directory = _add_entries(slapd, suffix)
    env = _environment(slapd, Path(tmp_path_factory.mktemp("directory")), suffix)
    if request.param == "postgres+redis":
        env |= postgres_redis_env(request) | {"IDP_AUTO_MIGRATE": "true"}
    env |= {"IDP_AUTO_MIGRATE": "true"}
    key = RpKey()
    Path(env["IDP_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    _register(env, key)
    with running_server(env) as base:
        yield Deployment(base, env, directory, key)


ID_TOKEN_CLAIMS = json.dumps({"id_token": {"vn_roles": None, "vn_agency_code": None}})


def login_page(deployment: Deployment) -> tuple[Browser, AuthorizationRun, httpx.Response]:
    browser = Browser(deployment.base)
    run = AuthorizationRun("hoso", REDIRECT, scope=SCOPE, extra={"claims": ID_TOKEN_CLAIMS})
    pushed = httpx.post(deployment.base + "/par", data={**run.params(), **deployment.auth()})
    assert pushed.status_code == 201, pushed.text
    params = {"client_id": "hoso", "request_uri": pushed.json()["request_uri"]}
    page = browser.follow(browser.http.get("/authorize", params=params), stop_at=REDIRECT)
    assert page.status_code == 200, page.text[:500]
    return browser, run, page


def submit_password(browser: Browser, page: httpx.Response, adapter: str, username: str,
                    password: str) -> httpx.Response:
    index = next(i for i, form in enumerate(forms(page.text)) if form[1].get("adapter") == adapter)
    return browser.submit(page, {"username": username, "password": password}, form_index=index)


def sign_in(deployment: Deployment, username: str) -> dict[str, Any]:
    """The whole sign-in of an official at the relying party; the token response."""
    browser, run, page = login_page(deployment)
    try:
        response = browser.follow(submit_password(browser, page, "officials", username, OFFICIAL_PASSWORD),
                                  stop_at=REDIRECT)
        if response.status_code == 200 and 'name="decision"' in response.text:
            response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=REDIRECT)
        assert response.status_code in (302, 303), response.text[:1000]
        tokens = httpx.post(deployment.base + "/token", data={
            "grant_type": "authorization_code", "code": callback_params(response)["code"],
            "redirect_uri": REDIRECT, "code_verifier": run.verifier, **deployment.auth()}).json()
    finally:
        browser.close()
    assert "refresh_token" in tokens, tokens
    return tokens


def refresh(deployment: Deployment, refresh_token: str) -> httpx.Response:
    return httpx.post(deployment.base + "/token",
                      data={"grant_type": "refresh_token", "refresh_token": refresh_token, **deployment.auth()})


def id_token_claims(tokens: dict[str, Any]) -> dict[str, Any]:
    """The ID token's payload (its signature is the interop tests' business)."""
    payload = tokens["id_token"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def userinfo(deployment: Deployment, tokens: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def audit_events(env: dict) -> list[dict]:
    exported = call_idp(["audit", "export", "--since", "1h", "--format", "jsonl"], env)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


def test_a_removed_role_and_a_new_agency_show_at_the_next_sign_in(deployment: Deployment) -> None:
    directory = deployment.directory
    tokens = sign_in(deployment, directory.uid("khoa.dang"))
    first = userinfo(deployment, tokens)
    assert first["vn_roles"] == ["approver"] and first["vn_agency_code"] == OLD_AGENCY
    assert id_token_claims(tokens)["vn_roles"] == ["approver"]

    directory.change(directory.approvers, {"member": ("-", directory.dn("khoa.dang"))})
    directory.change(directory.dn("khoa.dang"), {"departmentNumber": NEW_AGENCY})
    tokens = sign_in(deployment, directory.uid("khoa.dang"))
    again = userinfo(deployment, tokens)
    assert "approver" not in again.get("vn_roles", [])
    assert again["vn_agency_code"] == NEW_AGENCY
    in_id_token = id_token_claims(tokens)
    assert "approver" not in in_id_token.get("vn_roles", []) and in_id_token["vn_agency_code"] == NEW_AGENCY
    assert again["sub"] == first["sub"]  # still the same person at the relying party

    changes = [e for e in audit_events(deployment.env) if e["type"] == "identity.changed"]
    assert any(e["details"].get("roles_removed") == ["approver"] and "vn_agency_code" in e["details"]["claims"]
               for e in changes), changes


def test_a_refresh_after_the_recheck_interval_reflects_the_directory(deployment: Deployment) -> None:
    directory = deployment.directory
    tokens = sign_in(deployment, directory.uid("lan.mai"))
    assert userinfo(deployment, tokens)["vn_roles"] == ["approver"]

    directory.change(directory.approvers, {"member": ("-", directory.dn("lan.mai"))})
    directory.change(directory.dn("lan.mai"), {"departmentNumber": NEW_AGENCY})
    time.sleep(RECHECK_SECONDS + 0.5)
    refreshed = refresh(deployment, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    info = userinfo(deployment, refreshed.json())
    assert "approver" not in info.get("vn_roles", []) and info["vn_agency_code"] == NEW_AGENCY
    in_id_token = id_token_claims(refreshed.json())
    assert "approver" not in in_id_token.get("vn_roles", []) and in_id_token["vn_agency_code"] == NEW_AGENCY
    changes = [e for e in audit_events(deployment.env) if e["type"] == "identity.changed"]
    assert any(e["details"].get("roles_removed") == ["approver"] for e in changes), changes


@pytest.mark.parametrize(("name", "how"), [("minh.ngo", "disabled"), ("nga.bui", "deleted")])
def test_a_refresh_after_the_account_is_disabled_or_deleted_is_refused(deployment: Deployment, name: str,
                                                                       how: str) -> None:
    directory = deployment.directory
    tokens = sign_in(deployment, directory.uid(name))
    if how == "disabled":  # an administrator's permanent lock (ppolicy)
        directory.change(directory.dn(name), {"pwdAccountLockedTime": "000001010000Z"})
    else:
        directory.change(directory.approvers, {"member": ("-", directory.dn(name))})
        directory.delete(directory.dn(name))
    time.sleep(RECHECK_SECONDS + 0.5)
    refused = refresh(deployment, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "Traceback" not in refused.text
    # the grant is over: its access token no longer answers either
    gone = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert gone.status_code == 401


def test_a_refresh_the_directory_cannot_confirm_is_refused_not_failed(deployment: Deployment) -> None:
    directory = deployment.directory
    tokens = sign_in(deployment, directory.uid("oanh.vu"))
    time.sleep(RECHECK_SECONDS + 0.5)
    directory.slapd.stop()
    try:
        refused = refresh(deployment, tokens["refresh_token"])
    finally:
        directory.slapd.start()
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"  # deny by default, no 500
    denied = [e for e in audit_events(deployment.env) if e["type"] == "token.refreshed" and e["outcome"] == "denied"]
    assert denied and denied[-1]["reason"] == "source_unavailable"


def test_failures_under_every_name_of_one_account_lock_that_account(deployment: Deployment) -> None:
    suffix = deployment.directory.suffix
    names = [f"khanh.ly.{suffix}", f"Khanh.Ly.{suffix}@danang.gov.vn", f"KHANH.LY.{suffix}"]
    for name in names:  # three failures (the lock threshold), each under another name of the account
        browser, _, page = login_page(deployment)
        failed = submit_password(browser, page, "officials-ad", name, "Mat-khau-sai")
        browser.close()
        assert failed.status_code == 401, failed.text[:500]
    browser, _, page = login_page(deployment)
    locked = submit_password(browser, page, "officials-ad", f"khanh.ly.{suffix}@danang.gov.vn", OFFICIAL_PASSWORD)
    browser.close()
    assert locked.status_code in (401, 429)  # the right password no longer helps: the account is locked
    assert "Traceback" not in locked.text
    signins = [e for e in audit_events(deployment.env)
               if e["type"] == "signin" and f"khanh.ly.{suffix}" in (e.get("username") or "").lower()]
    assert [e["username"] for e in signins][:3] == names  # the audit trail keeps the names as typed
    assert signins[-1]["outcome"] == "failure" and signins[-1]["reason"] == "account_locked"


def test_an_operator_unlocks_a_directory_account_under_any_of_its_names(deployment: Deployment) -> None:
    """The lock is kept under the account's canonical name: ``idp accounts unlock`` given the name
    the official typed (here the userPrincipalName) lifts it, and the right password works again."""
    if "IDP_REDIS_URL" not in deployment.env:  # the embedded store keeps locks inside the server process
        refused = call_idp(["accounts", "unlock", "khanh.ly"], deployment.env)
        assert refused.returncode == 1 and "IDP_REDIS_URL" in refused.stderr
        return
    suffix = deployment.directory.suffix
    upn = f"Khanh.Ly.{suffix}@danang.gov.vn"
    for _ in range(3):
        browser, _, page = login_page(deployment)
        assert submit_password(browser, page, "officials-ad", upn, "Mat-khau-sai").status_code == 401
        browser.close()
    unlocked = call_idp(["accounts", "unlock", upn], deployment.env)
    assert unlocked.returncode == 0, unlocked.stderr
    answer = json.loads(unlocked.stdout)
    assert answer["was_locked"] is True and f"khanh.ly.{suffix}" in answer["names"]
    browser, _, page = login_page(deployment)
    signed_in = submit_password(browser, page, "officials-ad", upn, OFFICIAL_PASSWORD)
    browser.close()
    assert signed_in.status_code in (302, 303), signed_in.text[:500]

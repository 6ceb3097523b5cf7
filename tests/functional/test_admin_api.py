"""The admin API (``/admin/``) against a running server on PostgreSQL and Redis: every operation
over HTTP with its audit event, the refusals (no token, a forged token, the wrong scope, an
official without a fresh second factor, an invalid change that leaves the database as it was),
the OpenAPI description loaded by schemathesis, and a bounded schemathesis run without a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, sign_in
from tests.functional.helpers import call_idp
from tests.functional.oidc_fixtures import PASSWORD, SECRET, Deployment
from tests.functional.test_console import NOWHERE, enrol_totp, sign_in_page
from tests.functional.test_id_token_hint import ATTACKS, forged_hints

pytestmark = pytest.mark.parametrize("deployment", ["postgres+redis"], indirect=True)

BOT_SECRET = "admin-bot-secret-0123456789-0123456789-abc"
ADMIN_SCOPES = ["admin:clients", "admin:people", "admin:policies", "admin:keys"]


@dataclass(frozen=True)
class Admin:
    deployment: Deployment
    token: str          # admin-bot: every admin scope
    people_token: str   # people-bot: admin:people only

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.deployment.base, timeout=30,
                            headers={"Authorization": f"Bearer {token or self.token}"})


def client_token(base: str, client_id: str, secret: str, scope: str) -> str:
    response = httpx.post(base + "/token", auth=(client_id, secret),
                          data={"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def add_bot(deployment: Deployment, client_id: str, scopes: list[str]) -> None:
    args = ["clients", "add", client_id, "--secret-stdin", "--grant-type", "client_credentials"]
    for scope in scopes:
        args += ["--scope", scope]
    added = call_idp(args, deployment.env, stdin=BOT_SECRET + "\n")
    assert added.returncode == 0, added.stderr


@pytest.fixture(scope="module")
def admin(deployment: Deployment) -> Admin:
    add_bot(deployment, "admin-bot", ADMIN_SCOPES)
    add_bot(deployment, "people-bot", ["admin:people"])
    return Admin(deployment,
                 client_token(deployment.base, "admin-bot", BOT_SECRET, " ".join(ADMIN_SCOPES)),
                 client_token(deployment.base, "people-bot", BOT_SECRET, "admin:people"))


def audit(deployment: Deployment, type_: str) -> list[dict]:
    exported = call_idp(["audit", "export", "--type", type_], deployment.env)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


def test_openapi_document_loads_and_lists_every_area(admin: Admin) -> None:
    import schemathesis

    document = httpx.get(admin.deployment.base + "/admin/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # against the OpenAPI meta-schema
    broken = schemathesis.openapi.from_dict({**document, "info": {"title": 1}})
    with pytest.raises(Exception, match="title"):  # the check does check
        broken.validate()
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert {"/admin/clients", "/admin/clients/{client_id}", "/admin/accounts", "/admin/people/{person}/revoke",
            "/admin/policies", "/admin/policies/validate", "/admin/keys", "/admin/keys/rotate"} <= paths
    assert document["openapi"].startswith("3.") and "/token" not in document["paths"]


def test_client_lifecycle_over_http(admin: Admin) -> None:
    deployment = admin.deployment
    with admin.http() as http:
        created = http.post("/admin/clients", json={
            "client_id": "dichvu", "client_name": "Dịch vụ công tỉnh", "redirect_uris": ["https://dv.example.vn/cb"]})
        assert created.status_code == 201, created.text
        secret = created.json()["client_secret"]
        assert len(secret) >= 40 and created.headers["cache-control"].startswith("no-store")
        assert http.get("/admin/clients/dichvu").json()["client_name"] == "Dịch vụ công tỉnh"
        assert "dichvu" in {c["client_id"] for c in http.get("/admin/clients").json()}

        updated = http.patch("/admin/clients/dichvu", json={"redirect_uris": ["https://dv.example.vn/cb2"],
                                                            "post_logout_redirect_uris": ["https://dv.example.vn/bye"]})
        assert updated.status_code == 200 and updated.json()["redirect_uris"] == ["https://dv.example.vn/cb2"]

        keyed = http.patch("/admin/clients/dichvu", json={"jwks_uri": "https://dv.example.vn/jwks"})
        assert keyed.status_code == 200 and keyed.json()["jwks_uri"] == "https://dv.example.vn/jwks"

        rotated = http.post("/admin/clients/dichvu/secret")
        assert rotated.status_code == 200 and rotated.json()["client_secret"] != secret
        assert http.post("/admin/clients/dichvu/disable").json()["disabled"] is True
        assert http.post("/admin/clients/dichvu/enable").json()["disabled"] is False
        assert http.delete("/admin/clients/dichvu").status_code == 204
        assert http.get("/admin/clients/dichvu").status_code == 404

    changes = [e for e in audit(deployment, "client.*") if e["client_id"] == "dichvu"]
    assert [e["type"] for e in changes] == ["client.created"] + ["client.changed"] * 5 + ["client.removed"]
    assert all(e["details"]["actor"] == "client:admin-bot" for e in changes)
    update = changes[1]["details"]
    assert update["before"] == {"post_logout_redirect_uris": [], "redirect_uris": ["https://dv.example.vn/cb"]}
    assert update["after"]["redirect_uris"] == ["https://dv.example.vn/cb2"]
    assert changes[3]["details"]["secret_changed"] is True
    exported = json.dumps(changes)
    assert secret not in exported and rotated.json()["client_secret"] not in exported and "sha256$" not in exported


def test_invalid_update_is_400_and_nothing_changes(admin: Admin) -> None:
    with admin.http() as http:
        before = http.get("/admin/clients/portal").json()
        for body in ({"redirect_uris": ["http://portal.example.vn/cb"], "client_name": "Đổi tên"},
                     {"redirect_uris": ["https://a.example.vn/cb#x"]},
                     {"scope": ["openid", "vn_id"]},
                     {"grant_types": ["password"]},
                     {"client_name": "x", "unknown_field": 1},
                     {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}):
            refused = http.patch("/admin/clients/portal", json=body)
            assert refused.status_code == 400, (body, refused.text)
            assert refused.json()["error"] in ("invalid_client_metadata", "invalid_request")
        assert http.get("/admin/clients/portal").json() == before
        missing_keys = http.post("/admin/clients", json={
            "client_id": "pkj", "token_endpoint_auth_method": "private_key_jwt",
            "redirect_uris": ["https://pkj.example.vn/cb"]})
        assert missing_keys.status_code == 400 and "jwks_uri" in missing_keys.json()["error_description"]
        assert http.get("/admin/clients/pkj").status_code == 404
    assert not [e for e in audit(admin.deployment, "client.changed") if e["client_id"] == "portal"]


def test_a_disabled_client_gets_no_token(admin: Admin) -> None:
    base = admin.deployment.base
    with admin.http() as http:
        assert http.post("/admin/clients/m2m/disable").status_code == 200
        time.sleep(5.5)  # the server's client cache keeps a copy for five seconds
        refused = httpx.post(base + "/token", auth=("m2m", "m2m-secret-0123456789-0123456789-0123"),
                             data={"grant_type": "client_credentials"})
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        assert http.post("/admin/clients/m2m/enable").status_code == 200


def test_wrong_scope_is_403_insufficient_scope_and_audited(admin: Admin) -> None:
    with admin.http(admin.people_token) as http:
        refused = http.get("/admin/clients")
        assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
        assert 'scope="admin:clients"' in refused.headers["www-authenticate"]
        assert http.post("/admin/keys/rotate", json={}).status_code == 403
        assert http.get("/admin/accounts").status_code == 200
    denied = [e for e in audit(admin.deployment, "admin.action")
              if e["outcome"] == "denied" and e["client_id"] == "people-bot"]
    assert {e["details"]["path"] for e in denied} >= {"/admin/clients", "/admin/keys/rotate"}
    assert all(e["reason"] == "insufficient_scope" for e in denied)


def test_no_token_a_person_token_or_a_secret_is_401(admin: Admin, deployment: Deployment) -> None:
    base = deployment.base
    assert httpx.get(base + "/admin/clients").status_code == 401
    assert httpx.get(base + "/admin/clients", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert httpx.get(base + "/admin/clients", headers={"Authorization": f"Bearer {BOT_SECRET}"}).status_code == 401
    browser = Browser(base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    code = sign_in(browser, run, "canbo01", PASSWORD)["code"]
    person = httpx.post(base + "/token", auth=("portal", SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier}).json()["access_token"]
    browser.close()
    response = httpx.get(base + "/admin/accounts", headers={"Authorization": f"Bearer {person}"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_tokens_are_refused(admin: Admin, attack: str) -> None:
    forged = forged_hints(admin.deployment, admin.token)[attack]
    response = httpx.get(admin.deployment.base + "/admin/clients", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"


def test_scope_taken_back_takes_effect(admin: Admin) -> None:
    deployment = admin.deployment
    add_bot(deployment, "keys-bot", ["admin:keys"])
    token = client_token(deployment.base, "keys-bot", BOT_SECRET, "admin:keys")
    with admin.http(token) as http:
        assert http.get("/admin/keys").status_code == 200
        assert call_idp(["clients", "update", "keys-bot", "--scope", "openid"], deployment.env).returncode == 0
        time.sleep(5.5)
        assert http.get("/admin/keys").status_code == 403
    with admin.http() as http:  # granting an admin scope needs that scope (no escalation)
        assert http.patch("/admin/clients/keys-bot", json={"scope": ["admin:everything"]}).status_code == 400


def test_people_operations_over_http(admin: Admin) -> None:
    deployment = admin.deployment
    added = call_idp(["users", "add", "canbo09", "--password-stdin", "--name", "Lê Văn Chín"], deployment.env,
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    browser, tokens = _signed_in_with_refresh_token(deployment, "canbo09")
    with admin.http(admin.people_token) as http:
        found = http.get("/admin/accounts", params={"q": "văn chín"}).json()
        assert [a["username"] for a in found] == ["canbo09"]
        assert http.get("/admin/accounts", params={"q": "canbo0"}).status_code == 200
        one = http.get("/admin/accounts/canbo09").json()
        assert one["name"] == "Lê Văn Chín" and "password_hash" not in one and one["disabled"] is False
        assert http.get("/admin/accounts/nobody").status_code == 404
        assert http.post("/admin/accounts/canbo09/disable").json()["disabled"] is True
        _assert_everything_ended(deployment, browser, tokens)  # disabling ends what the account holds
        browser.close()
        assert http.post("/admin/accounts/canbo09/enable").json()["disabled"] is False
        weak = http.post("/admin/accounts/canbo09/password", json={"password": "ngắn"})
        assert weak.status_code == 400 and weak.json()["error"] == "invalid_request"
        reset = http.post("/admin/accounts/canbo09/password", json={})
        assert reset.status_code == 200 and len(reset.json()["password"]) >= 20
        assert http.delete("/admin/accounts/canbo09/second-factor").json()["second_factor"] is False
        assert http.post("/admin/accounts/nobody/disable").status_code == 404
    browser = Browser(deployment.base)  # the new password signs in
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"))
    assert "code" in sign_in(browser, run, "canbo09", reset.json()["password"])
    browser.close()
    changed = [e for e in audit(deployment, "account.changed") if e["username"] == "canbo09"]
    assert [e["details"]["action"] for e in changed] == ["account.disabled", "account.enabled", "password.reset"]
    assert all(e["details"]["actor"] == "client:people-bot" for e in changed)
    assert reset.json()["password"] not in json.dumps(changed)
    assert audit(deployment, "mfa.totp.removed")[-1]["details"]["actor"] == "client:people-bot"
    reads = [e["details"] for e in audit(deployment, "admin.action") if e["client_id"] == "people-bot"]
    assert {"action": "admin.accounts.read", "actor": "client:people-bot", "username": "canbo09"} in reads
    assert any(r["action"] == "admin.accounts.search" and r["returned"] == 1 for r in reads)


CITIZEN_ID = "001203012345"  # a well-formed personal ID number (Hà Nội, born 2003)


def _link_citizen(deployment: Deployment, name: str, number: str) -> str:
    """A citizen as a VNeID sign-in links one (the personal ID number kept as keyed hash and
    ciphertext), with the server's own keys; the subject id."""
    from adapters.base import Identity
    from idp.audit.sql import SqlAuditLog
    from idp.identity.linking import link_identity
    from idp.identity.protection import derive_identity_keys
    from idp.runtime import open_storage
    from idp.settings import Settings
    from keys.kek import load_kek

    settings = Settings(**{k[4:].lower(): v for k, v in deployment.env.items()})  # type: ignore[arg-type]
    storage = open_storage(settings)
    try:
        keys = derive_identity_keys(load_kek(settings, sealed_keys_exist=True))
        identity = Identity(subject="vneid-" + number[-6:], adapter_id="vneid", issuer="https://vneid.example.vn",
                            auth_time=int(time.time()), claims={"name": name, "vn_personal_id": number})
        return link_identity(storage, identity, hash_key=keys.hash_key, enc_key=keys.enc_key,
                             audit=SqlAuditLog(storage.db)).id
    finally:
        storage.close()


def test_search_finds_every_person(admin: Admin) -> None:
    """Citizens linked from an upstream are found by part of their name and by their personal ID
    number (exactly, through its keyed hash), as local accounts are; the number is never answered
    nor recorded."""
    deployment = admin.deployment
    citizen = _link_citizen(deployment, "Hoàng Thị Én", CITIZEN_ID)
    with admin.http(admin.people_token) as http:
        by_name = http.get("/admin/people", params={"q": "hoàng thị"})
        assert by_name.status_code == 200, by_name.text
        assert by_name.json() == [{"subject_id": citizen, "kind": "person", "name": "Hoàng Thị Én", "username": None,
                                   "sources": ["vneid"], "personal_id_known": True}]
        for hostile in ("\x00", "a\x00b", "\x7f"):  # a NUL would reach PostgreSQL: 500 before
            assert http.get("/admin/people", params={"q": hostile}).status_code == 400
            assert http.get("/admin/accounts", params={"q": hostile}).status_code == 400
        assert http.get("/admin/people", params={"q": "²³"}).json() == []  # digits, but not a number
        for number in (CITIZEN_ID, "001 203 012345"):
            assert [p["subject_id"] for p in http.get("/admin/people", params={"q": number}).json()] == [citizen]
        assert http.get("/admin/people", params={"q": "001203012346"}).json() == []  # another number
        assert http.get("/admin/people", params={"q": "1234"}).json() == []  # not a number: nobody
        assert http.get("/admin/people", params={"q": "Hoàng Thị Ém"}).json() == []
        assert [p["username"] for p in http.get("/admin/people", params={"q": "canbo01"}).json()] == ["canbo01"]
        assert http.get("/admin/people", params={"q": "x" * 256}).status_code == 400
    with admin.http(client_token(deployment.base, "admin-bot", BOT_SECRET, "admin:keys")) as http:
        refused = http.get("/admin/people", params={"q": CITIZEN_ID})
        assert refused.status_code == 403 and CITIZEN_ID not in refused.text
    searches = [e for e in audit(deployment, "admin.action") if e["details"]["action"] == "admin.people.search"]
    assert {(e["details"]["by"], e["details"]["returned"]) for e in searches} >= {("name", 1), ("personal_id", 1),
                                                                                   ("personal_id", 0)}
    assert "012345" not in json.dumps(searches) and "Hoàng" not in json.dumps(searches)


def _signed_in_with_refresh_token(deployment: Deployment, username: str = "canbo01") -> tuple[Browser, dict]:
    browser = Browser(deployment.base)
    run = AuthorizationRun("portal", deployment.redirect_uri("portal"), scope="openid offline_access")
    code = sign_in(browser, run, username, PASSWORD)["code"]
    tokens = httpx.post(deployment.base + "/token", auth=("portal", SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier}).json()
    assert "refresh_token" in tokens, tokens
    return browser, tokens


def _assert_everything_ended(deployment: Deployment, browser: Browser, tokens: dict) -> None:
    refreshed = httpx.post(deployment.base + "/token", auth=("portal", SECRET), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    userinfo = httpx.get(deployment.base + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 401
    silent = AuthorizationRun("portal", deployment.redirect_uri("portal"), extra={"prompt": "none"})
    assert callback_params(browser.http.get("/authorize", params=silent.params()))["error"] == "login_required"


def test_revoke_every_session_and_token_of_a_person_over_http(admin: Admin) -> None:
    deployment = admin.deployment
    browser, tokens = _signed_in_with_refresh_token(deployment)
    with admin.http(admin.people_token) as http:
        revoked = http.post("/admin/people/canbo01/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["sessions_ended"] >= 1 and revoked.json()["grants_revoked"] >= 1
        assert http.post("/admin/people/nobody-at-all/revoke").status_code == 404
    _assert_everything_ended(deployment, browser, tokens)
    browser.close()
    event = [e for e in audit(deployment, "admin.action") if e["details"].get("action") == "person.revoke_all"][-1]
    assert event["details"]["actor"] == "client:people-bot" and event["subject"] == revoked.json()["subject_id"]


def test_sessions_revoke_command_reaches_the_servers_sessions(admin: Admin) -> None:
    deployment = admin.deployment
    browser, tokens = _signed_in_with_refresh_token(deployment)
    result = call_idp(["sessions", "revoke", "--person", "canbo01", "--operator", "Phạm Thị Dung"], deployment.env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sessions_ended"] >= 1
    _assert_everything_ended(deployment, browser, tokens)
    browser.close()
    event = [e for e in audit(deployment, "admin.action") if e["details"].get("action") == "person.revoke_all"][-1]
    assert event["details"]["actor"] == "Phạm Thị Dung"


def test_policies_over_http(admin: Admin) -> None:
    with admin.http() as http:
        listed = http.get("/admin/policies")
        assert listed.status_code == 200 and listed.json()[0]["client_id"] is None
        assert http.get("/admin/policies/portal").json()["document"]["version"] == 1
        good = http.post("/admin/policies/validate", json={
            "client_id": "portal", "document": "version: 1\nclient_id: portal\nadapters: [local]\nscopes: [profile]\n"})
        assert good.status_code == 200 and good.json()["valid"] is True and len(good.json()["digest"]) == 64
        bad = http.post("/admin/policies/validate", json={
            "client_id": "portal", "document": "version: 1\nclient_id: portal\nadapters: [nowhere]\n"})
        assert bad.json()["valid"] is False and bad.json()["field"] == "adapters[0]" and bad.json()["line"] == 3
        builtin = http.post("/admin/policies/portal/activate", json={"document": "version: 1\nclient_id: portal\n"})
        assert builtin.status_code == 409 and "IDP_POLICIES_DIR" in builtin.json()["error_description"]
    actions = [e["details"]["action"] for e in audit(admin.deployment, "admin.action")]
    assert {"admin.policies.list", "admin.policies.read", "admin.policies.validate"} <= set(actions)


def test_keys_over_http(admin: Admin) -> None:
    base = admin.deployment.base
    with admin.http() as http:
        keys = http.get("/admin/keys").json()
        current = next(k for k in keys if k["state"] == "current" and k["alg"] == "ES256")
        too_soon = http.post("/admin/keys/rotate", json={"alg": "ES256"})
        assert too_soon.status_code == 409 and too_soon.json()["error"] == "conflict"
        rotated = http.post("/admin/keys/rotate", json={"alg": "ES256", "force": True})
        assert rotated.status_code == 200 and rotated.json()["retired"] == current["kid"]
        published = {k["kid"] for k in httpx.get(base + "/jwks").json()["keys"]}
        assert rotated.json()["current"] in published
    fresh = client_token(base, "admin-bot", BOT_SECRET, "admin:keys")  # signed by the new current key
    with admin.http(fresh) as http:
        retired = http.post(f"/admin/keys/{current['kid']}/retire")
        assert retired.status_code == 200 and retired.json()["state"] == "withdrawn"
        assert current["kid"] not in {k["kid"] for k in httpx.get(base + "/jwks").json()["keys"]}
        assert http.post("/admin/keys/no-such-kid/retire").status_code == 404
    stale = httpx.get(base + "/admin/keys", headers={"Authorization": f"Bearer {admin.token}"})
    assert stale.status_code == 401  # its signing key was withdrawn
    rotations = [e for e in audit(admin.deployment, "admin.action")
                 if e["details"].get("action") in ("admin.keys.rotate", "admin.keys.retire")]
    assert rotations[0]["details"]["before"][current["kid"]] == "current"
    assert rotations[0]["details"]["after"][current["kid"]] == "retired"
    assert all(e["details"]["actor"] == "client:admin-bot" for e in rotations)
    assert audit(admin.deployment, "key.rotated")[-1]["details"]["actor"] == "client:admin-bot"
    assert audit(admin.deployment, "key.retired")[-1]["details"]["actor"] == "client:admin-bot"


@pytest.fixture(scope="module")
def official(deployment: Deployment) -> Iterator[tuple[Browser, str]]:
    """quantri01 (administrator) enrols TOTP, signed in with a password only."""
    added = call_idp(["users", "add", "quantri01", "--password-stdin", "--role", "administrator"], deployment.env,
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    browser = Browser(deployment.base)
    secret, _codes = enrol_totp(browser, "quantri01")
    yield browser, secret
    browser.close()


def test_an_official_needs_the_role_and_a_fresh_second_factor(admin: Admin, official: tuple[Browser, str]) -> None:
    browser, secret = official
    one_factor = browser.http.get("/admin/clients")
    assert one_factor.status_code == 403 and one_factor.json()["error"] == "insufficient_user_authentication"
    browser.http.cookies.clear()
    mfa = sign_in_page(browser, "/account", "quantri01")
    assert 'name="code"' in mfa.text, mfa.text[:500]
    done = browser.follow(browser.submit(mfa, {"code": pyotp.TOTP(secret).at(time.time() + 30)}), stop_at=NOWHERE)
    assert done.status_code == 200
    assert browser.http.get("/admin/clients").status_code == 200
    cross_site = browser.http.post("/admin/clients/portal/disable", headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    changed = browser.http.patch("/admin/clients/portal", json={"client_name": "Cổng dịch vụ công tỉnh"})
    assert changed.status_code == 200, changed.text
    event = [e for e in audit(admin.deployment, "client.changed") if e["client_id"] == "portal"][-1]
    assert event["details"]["actor"] == "official:quantri01"
    denied = [e for e in audit(admin.deployment, "admin.action") if e["outcome"] == "denied"
              and e["username"] == "quantri01"]
    assert {e["reason"] for e in denied} == {"no_second_factor", "cross_origin"}

    plain = Browser(admin.deployment.base)  # an official without the role
    sign_in_page(plain, "/account", "canbo01")
    refused = plain.http.get("/admin/clients")
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_user_authentication"
    plain.close()


def test_schemathesis_finds_no_server_error(admin: Admin) -> None:
    """Generated requests to every operation, with a token holding every admin scope: never a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    base = admin.deployment.base
    schema = schemathesis.openapi.from_url(base + "/admin/openapi.json")
    token = client_token(base, "admin-bot", BOT_SECRET, " ".join(ADMIN_SCOPES))
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=base, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        call()
    assert failures == []
    assert httpx.get(base + "/admin/clients", headers=headers).status_code == 200

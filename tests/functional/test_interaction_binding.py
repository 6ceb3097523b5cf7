"""A pending sign-in belongs to the browser that started it, at a running ``idp serve`` with the
national sandbox upstream (issue 20, items 1, 2 and 12).

- A link to someone else's pending authorization (``/authorize/resume/{id}``, the consent page)
  opened by a signed-in citizen shows a refusal page; no code is issued for the citizen (the
  attacker's relying party would have read the citizen's profile without a consent page).
- An upstream answer (``/callback/vneid?code&state``) that another browser started is refused,
  audited, and leaves the session of the browser that loaded it untouched (login CSRF).
- A locked account is answered exactly as a wrong password (and, at the second step, as a wrong
  code), with how to get unlocked.
- ``/account`` lists every service that holds the person's refresh tokens, also one that never
  asked for consent (a trusted client), and withdrawing there revokes them.

Only HTTP, as browsers and relying parties see it. ``binding_deployment`` is shared with the
headless-Chromium version of the first two (tests/browser/test_interaction_binding.py).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pyotp
import pytest
import yaml

from idp.sandbox import NationalSandbox, SandboxClient
from tests.functional.browser_client import AuthorizationRun, Browser, callback_params, forms
from tests.functional.helpers import call_idp, running_server

UPSTREAM_CLIENT = SandboxClient("provincial-idp", "sandbox-secret-0123456789")
CLIENT, SECRET = "congdan", "congdan-secret-0123456789-0123456789"
TRUSTED, TRUSTED_SECRET, TRUSTED_NAME = "noibo", "noibo-secret-0123456789-0123456789", "Hệ thống nội bộ của tỉnh"
SCOPE = "openid profile"
VICTIM, ATTACKER = ("048193004567", "Trần Thị Bích Ngọc"), ("049085001234", "Nguyễn Văn An")  # sandbox citizens
OFFICIAL, OFFICIAL_PASSWORD = "canbo01", "một câu mật khẩu dài đủ dùng"
WITH_TOTP, HOLDER = "canbo02", "canbo03"  # a local account with a second factor; one with refresh tokens
LOCK_AFTER = 3
REFUSAL = "Không thể tiếp tục bước đăng nhập này"
POLICY = {
    "version": 1, "description": "Dịch vụ công: định danh điện tử hoặc tài khoản nội bộ",
    "adapters": ["local", "vneid", "dvcqg"], "minimum_acr": "local-basic", "mfa_required": False,
    "scopes": ["openid", "profile"], "subject_type": "pairwise", "session_lifetime_seconds": 3600,
}  # fmt: skip


class Deployment:
    def __init__(self, base: str, data: Path, redirect_uri: str) -> None:
        self.base, self.data, self.redirect_uri = base, data, redirect_uri

    def run(self) -> AuthorizationRun:
        return AuthorizationRun(CLIENT, self.redirect_uri, scope=SCOPE)

    def audit_reasons(self, event_type: str) -> list[tuple[str, str]]:
        with sqlite3.connect(self.data / "idp.sqlite3") as db:
            return list(db.execute("SELECT outcome, reason FROM audit_events WHERE type = ? AND reason IS NOT NULL",
                                   (event_type,)))

    def redeem(self, run: AuthorizationRun, code: str) -> dict:
        tokens = httpx.post(self.base + "/token", auth=(CLIENT, SECRET), timeout=30, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
            "code_verifier": run.verifier}).json()
        assert "access_token" in tokens, tokens
        return httpx.get(self.base + "/userinfo", timeout=10,
                         headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()


@contextmanager
def binding_deployment(root: Path, redirect_base: str) -> Iterator[Deployment]:
    """``idp serve`` with the national sandbox upstreams and a local account, one client ``congdan``
    (a consent page for ``profile``), redirecting to ``{redirect_base}/congdan/cb``."""
    with NationalSandbox.start([UPSTREAM_CLIENT]) as sandbox:
        local = {"id": "local", "type": "local", "display_name": {"vi": "Tài khoản nội bộ"}}
        entries = sandbox.adapter_configs(UPSTREAM_CLIENT)
        (root / "adapters.yaml").write_text(yaml.safe_dump({"adapters": [local, *entries]}, allow_unicode=True))
        (root / "policies").mkdir()
        (root / "policies" / "default.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
        env = {"IDP_DATA_DIR": str(root / "var"), "IDP_ADAPTERS_FILE": str(root / "adapters.yaml"),
               "IDP_POLICIES_DIR": str(root / "policies"), "IDP_LOGIN_LOCK_THRESHOLD": str(LOCK_AFTER),
               "IDP_LOGIN_BACKOFF_SECONDS": "0"}  # fmt: skip
        redirect_uri = f"{redirect_base}/{CLIENT}/cb"
        args = ["clients", "add", CLIENT, "--secret-stdin", "--name", "Cổng dịch vụ công", "--redirect-uri",
                redirect_uri, *[part for scope in SCOPE.split() for part in ("--scope", scope)]]
        added = call_idp(args, env | {"IDP_AUTO_MIGRATE": "true"}, stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
        added = call_idp(["clients", "add", TRUSTED, "--secret-stdin", "--trusted", "--name", TRUSTED_NAME,
                         "--redirect-uri", f"http://127.0.0.1:9/{TRUSTED}/cb"], env, stdin=TRUSTED_SECRET + "\n")
        assert added.returncode == 0, added.stderr
        for username in (OFFICIAL, WITH_TOTP, HOLDER):
            added = call_idp(["users", "add", username, "--password-stdin", "--name", "Trần Thị Bình"], env,
                            stdin=OFFICIAL_PASSWORD + "\n")
            assert added.returncode == 0, added.stderr
        with running_server(env) as base:
            yield Deployment(base, root / "var", redirect_uri)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with binding_deployment(Path(tmp_path_factory.mktemp("binding")), "http://127.0.0.1:9") as dep:
        yield dep


@pytest.fixture
def people(deployment: Deployment) -> Iterator[tuple[Browser, Browser]]:
    """The attacker's browser and the victim's."""
    attacker, victim = Browser(deployment.base), Browser(deployment.base)
    yield attacker, victim
    attacker.close()
    victim.close()


def upstream_answer(browser: Browser, run: AuthorizationRun, citizen: str) -> httpx.Response:
    """From /authorize to the sandbox's redirect back to ``/callback/vneid`` (not followed)."""
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    link = re.search(r'href="([^"]*/upstream/vneid)"', page.text)
    assert link, page.text[:1000]
    sandbox_page = browser.follow(browser.http.get(urljoin(str(page.request.url), link.group(1))),
                                  stop_at=run.redirect_uri)  # fmt: skip
    action, fields, _ = forms(sandbox_page.text)[0]
    answer = browser.http.post(action, data={**fields, "citizen": citizen, "decision": "allow"})
    assert answer.status_code in (302, 303) and "/callback/vneid?" in answer.headers["location"]
    return answer


def sign_in_with_vneid(browser: Browser, run: AuthorizationRun, citizen: str) -> dict[str, str]:
    """The whole front channel with VNeID and consent; the parameters the relying party receives."""
    response = browser.follow(upstream_answer(browser, run, citizen), stop_at=run.redirect_uri)
    if response.status_code == 200 and 'name="decision"' in response.text:
        response = browser.follow(browser.submit(response, {"decision": "allow"}), stop_at=run.redirect_uri)
    assert response.status_code in (302, 303), response.text[:1000]
    return callback_params(response)


def signed_in_citizen(deployment: Deployment, browser: Browser) -> str | None:
    """Whose session the browser holds: the name a new code for it releases."""
    run = AuthorizationRun(CLIENT, deployment.redirect_uri, scope=SCOPE, extra={"prompt": "none"})
    params = callback_params(browser.http.get("/authorize", params=run.params()))
    if "code" not in params:
        return None
    return str(deployment.redeem(run, params["code"]).get("name"))


def test_a_resume_link_handed_to_a_signed_in_citizen_is_refused(deployment: Deployment,
                                                                people: tuple[Browser, Browser]) -> None:
    attacker, victim = people
    sign_in_with_vneid(victim, deployment.run(), VICTIM[0])  # the citizen uses the service (consented)

    run = deployment.run()  # the attacker's request, with the attacker's PKCE verifier
    consent = attacker.follow(upstream_answer(attacker, run, ATTACKER[0]), stop_at=run.redirect_uri)
    assert 'name="decision"' in consent.text
    interaction_id = consent.request.url.path.split("/")[2]  # the attacker's, signed in, at its consent page

    for link in (f"/authorize/resume/{interaction_id}", consent.request.url.path):  # the resume link, the page
        refused = victim.http.get(link)
        assert refused.status_code == 403 and REFUSAL in refused.text and "location" not in refused.headers
    assert ("denied", "foreign_browser") in deployment.audit_reasons("signin")
    assert signed_in_citizen(deployment, victim) == VICTIM[1]  # the citizen's own session is as it was

    # The consent goes on in its own request: straight to the relying party, with no resumption
    # link in between that could be handed to someone else. The attacker's browser: its own person.
    answered = attacker.submit(consent, {"decision": "allow"})
    assert answered.status_code in (302, 303) and answered.headers["location"].startswith(run.redirect_uri)
    assert deployment.redeem(run, callback_params(answered)["code"])["name"] == ATTACKER[1]


def test_an_upstream_answer_loaded_by_another_browser_leaves_its_session(deployment: Deployment,
                                                                         people: tuple[Browser, Browser]) -> None:
    attacker, victim = people
    sign_in_with_vneid(victim, deployment.run(), VICTIM[0])
    callback = upstream_answer(attacker, deployment.run(), ATTACKER[0]).headers["location"]

    refused = victim.http.get(callback)  # e.g. an <img> or a link on the attacker's page
    assert refused.status_code == 403 and REFUSAL in refused.text
    assert "set-cookie" not in refused.headers or "vnidp_session" not in refused.headers["set-cookie"]
    assert signed_in_citizen(deployment, victim) == VICTIM[1]
    assert ("denied", "foreign_browser") in deployment.audit_reasons("signin")


def password_attempt(deployment: Deployment, browser: Browser, username: str, password: str,
                     run: AuthorizationRun | None = None) -> httpx.Response:
    run = run or AuthorizationRun(CLIENT, deployment.redirect_uri, scope="openid")
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    index = next(i for i, (_, fields, _) in enumerate(forms(page.text)) if "password" in fields)
    return browser.submit(page, {"username": username, "password": password}, form_index=index)


def alert_text(page: httpx.Response) -> str:
    found = re.search(r'<div class="alert" role="alert".*?</div>\s*(<p class="hint">.*?</p>)?', page.text, re.S)
    assert found, page.text[:2000]
    return found.group(0)


def test_a_locked_account_is_answered_like_a_wrong_password(deployment: Deployment, people: tuple) -> None:
    browser, _ = people
    unknown = password_attempt(deployment, browser, "khong-co-ai", "mật khẩu bất kỳ đủ dài")
    assert unknown.status_code == 401
    for _ in range(LOCK_AFTER):
        assert password_attempt(deployment, browser, OFFICIAL, "mật khẩu sai nhưng đủ dài").status_code == 401
    locked = password_attempt(deployment, browser, OFFICIAL, OFFICIAL_PASSWORD)  # the right password, but locked
    assert locked.status_code == unknown.status_code == 401
    assert alert_text(locked) == alert_text(unknown)
    assert "quản trị viên" in alert_text(locked)  # how to get unlocked, shown to everyone
    assert ("failure", "account_locked") in deployment.audit_reasons("signin")  # the true reason, for auditors


def enrol_totp(browser: Browser, username: str) -> str:
    """Turn on two-step verification from the account page; the TOTP secret."""
    page = browser.follow(browser.http.get("/account"), stop_at="http://127.0.0.1:9")
    browser.follow(browser.submit(page, {"username": username, "password": OFFICIAL_PASSWORD}), stop_at="x")
    enrolment = browser.http.get("/account/totp")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', enrolment.text).group(1).replace(" ", "")
    done = browser.submit(enrolment, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.text[:2000]
    return secret


def test_a_locked_account_is_answered_like_a_wrong_code_at_the_second_step(deployment: Deployment,
                                                                           people: tuple) -> None:
    first, browser = people
    secret = enrol_totp(first, WITH_TOTP)
    mfa = browser.follow(password_attempt(deployment, browser, WITH_TOTP, OFFICIAL_PASSWORD), stop_at="http://127.0.0.1:9")
    assert 'name="code"' in mfa.text
    answers = [browser.submit(mfa, {"code": "000000"}) for _ in range(LOCK_AFTER)]  # the last one locks
    locked = browser.submit(mfa, {"code": pyotp.TOTP(secret).at(time.time() + 30)})  # a right code, but locked
    assert {answer.status_code for answer in answers} == {locked.status_code} == {401}
    assert alert_text(locked) == alert_text(answers[-1]) and "quản trị viên" in alert_text(locked)
    assert ("failure", "account_locked") in deployment.audit_reasons("signin.mfa")


def test_the_account_page_lists_and_withdraws_a_service_that_never_asked_for_consent(
        deployment: Deployment, people: tuple) -> None:
    browser, _ = people
    run = AuthorizationRun(TRUSTED, f"http://127.0.0.1:9/{TRUSTED}/cb", scope="openid")
    done = browser.follow(password_attempt(deployment, browser, HOLDER, OFFICIAL_PASSWORD, run),
                          stop_at=run.redirect_uri)
    tokens = httpx.post(deployment.base + "/token", auth=(TRUSTED, TRUSTED_SECRET), data={
        "grant_type": "authorization_code", "code": callback_params(done)["code"], "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier}).json()
    assert "refresh_token" in tokens  # a trusted client: no consent page, a refresh token all the same

    account = browser.http.get("/account")
    assert TRUSTED_NAME in account.text
    listed = [i for i, (_, fields, _) in enumerate(forms(account.text)) if fields.get("client_id") == TRUSTED]
    assert len(listed) == 1  # with its withdraw button
    assert browser.submit(account, {}, form_index=listed[0]).status_code == 303
    refreshed = httpx.post(deployment.base + "/token", auth=(TRUSTED, TRUSTED_SECRET), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    after = forms(browser.http.get("/account").text)
    assert [fields for _, fields, _ in after if fields.get("client_id") == TRUSTED] == []  # no longer listed

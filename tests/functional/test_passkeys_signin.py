"""Passkeys against a running ``idp serve`` over HTTP, answered by a software authenticator: a person
adds one on /account/passkeys and signs in without a password; bad answers (garbage, another
origin, a replay, an oversized form) get a readable page and never a 5xx; failed passkeys after a
password count in the person's one lockout counter, which then holds the password too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser
from tests.functional.helpers import call_idp, running_server
from tests.unit.mfa.authenticator import SoftAuthenticator

PASSWORD = "một câu mật khẩu dài đủ dùng"
NOWHERE = "http://127.0.0.1:9/"
OPTIONS = re.compile(r'data-json="([^"]*)"')


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("passkeys-http")) / "var"),
           "IDP_LOGIN_BACKOFF_SECONDS": "0", "IDP_LOGIN_LOCK_THRESHOLD": "3"}
    assert call_idp(["clients", "add", "portal", "--public", "--name", "Cổng dịch vụ công",
                    "--redirect-uri", NOWHERE + "portal/cb"], env | {"IDP_AUTO_MIGRATE": "true"}).returncode == 0
    for username in ("canbo05", "canbo06", "canbo07"):
        added = call_idp(["users", "add", username, "--password-stdin"], env, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    with running_server(env, host_name="localhost") as base:
        yield base, env


@pytest.fixture
def browsers(deployment: tuple) -> Iterator[Callable[[], Browser]]:
    """New browsers (cookie jars) on the deployment, all closed when the test ends."""
    opened: list[Browser] = []

    def new() -> Browser:
        opened.append(Browser(deployment[0]))
        return opened[-1]

    yield new
    for browser in opened:
        browser.close()


def options_of(page: httpx.Response) -> str:
    return unescape(OPTIONS.search(page.text).group(1))  # type: ignore[union-attr]


def enrol(base: str, username: str) -> tuple[SoftAuthenticator, list[str]]:
    """Sign in to /account with the password and add a passkey from a software authenticator; the
    recovery codes shown with this first factor."""
    device = SoftAuthenticator(origin=base, rp_id=urlsplit(base).hostname or "")
    browser = Browser(base)
    try:
        page = browser.follow(browser.http.get("/account"), stop_at=NOWHERE)
        browser.follow(browser.submit(page, {"username": username, "password": PASSWORD}), stop_at=NOWHERE)
        page = browser.http.get("/account/passkeys")
        added = browser.submit(page, {"credential": device.create(options_of(page)), "name": "Khoá USB"},
                               form_index=len(re.findall("<form", page.text)) - 1)
        assert added.status_code == 200 and "Mã khôi phục của bạn" in added.text  # a first factor: shown once
        codes = re.findall(r"<li><code>([^<]+)</code>", added.text)
        assert len(codes) == 10
        assert "Khoá USB" in browser.http.get("/account/passkeys").text
    finally:
        browser.close()
    return device, codes


def passkey_page(browser: Browser, run: AuthorizationRun) -> httpx.Response:
    """From /authorize to the login page, then its "sign in with a passkey" link."""
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=NOWHERE)
    link = re.search(r'href="(/interaction/[^"]+/passkey)"', login.text)
    assert link is not None, login.text[:1000]
    return browser.http.get(link.group(1))


def test_a_passkey_signs_in_without_a_password(deployment: tuple, browsers: Callable[[], Browser]) -> None:
    base, env = deployment
    device, _codes = enrol(base, "canbo05")
    browser = browsers()
    run = AuthorizationRun("portal", NOWHERE + "portal/cb", scope="openid")
    page = passkey_page(browser, run)
    assert json.loads(options_of(page))["allowCredentials"] == []  # username-less
    done = browser.follow(browser.submit(page, {"credential": device.get(options_of(page))}), stop_at=NOWHERE)
    assert done.status_code in (302, 303) and done.headers["location"].startswith(NOWHERE + "portal/cb?code=")
    exported = call_idp(["audit", "export"], env)
    signins = [e for e in map(json.loads, exported.stdout.splitlines()) if e["type"] == "signin"
               and e["outcome"] == "success" and e.get("username") == "canbo05"]
    assert "pwd" not in signins[-1]["amr"] and {"hwk", "user", "pin", "mfa"} <= set(signins[-1]["amr"])
    assert signins[-1]["acr"].endswith("/acr/local-mfa")


def test_bad_passkey_answers_get_a_readable_page(deployment: tuple, browsers: Callable[[], Browser]) -> None:
    base, _env = deployment
    device = SoftAuthenticator(origin="https://phishing.example", rp_id="localhost")
    browser = browsers()
    run = AuthorizationRun("portal", NOWHERE + "portal/cb", scope="openid")
    page = passkey_page(browser, run)
    answers = ['{"id": 1}', "not json at all", "", json.dumps({"id": "x" * 5000, "rawId": "x" * 5000})]
    for answer in answers:
        refused = browser.submit(page, {"credential": answer})
        assert refused.status_code == 401 and 'role="alert"' in refused.text, refused.text[:500]
        page = refused  # a fresh challenge on every refusal
    device.create(json.dumps({"challenge": "AAAA", "user": {"id": "AAAA"}}))  # a credential of another site
    refused = browser.submit(page, {"credential": device.get(options_of(page))})
    assert refused.status_code == 401 and "Không xác thực được bằng khoá truy cập" in refused.text
    oversized = browser.submit(refused, {"credential": "x" * 70_000})
    assert oversized.status_code == 400 and "<html" in oversized.text


def test_failed_passkeys_after_the_password_lock_the_person(deployment: tuple,
                                                            browsers: Callable[[], Browser]) -> None:
    base, env = deployment
    enrol(base, "canbo06")
    browser = browsers()
    run = AuthorizationRun("portal", NOWHERE + "portal/cb", scope="openid")
    login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=NOWHERE)
    mfa = browser.follow(browser.submit(login, {"username": "canbo06", "password": PASSWORD}), stop_at=NOWHERE)
    assert 'href="/interaction/' in mfa.text and "/passkey" in mfa.text  # the second-factor page offers it
    page = browser.http.get(re.search(r'href="(/interaction/[^"]+/passkey)"', mfa.text).group(1))  # type: ignore[union-attr]
    assert len(json.loads(options_of(page))["allowCredentials"]) == 1  # only this person's passkey
    for _ in range(3):  # the lock threshold
        page = browser.submit(page, {"credential": '{"id": "forged"}'})
        assert page.status_code == 401
    again = browsers()  # the right password is now held too: one counter per person
    login = again.follow(again.http.get("/authorize", params=run.params()), stop_at=NOWHERE)
    held = again.submit(login, {"username": "canbo06", "password": PASSWORD})
    assert held.status_code == 401 and 'role="alert"' in held.text
    exported = call_idp(["audit", "export"], env)
    locked = [e for e in map(json.loads, exported.stdout.splitlines()) if e["type"] == "account.locked"]
    assert [e["username"] for e in locked] == ["canbo06"]


def test_a_recovery_code_stands_in_for_a_lost_passkey_once(deployment: tuple,
                                                           browsers: Callable[[], Browser]) -> None:
    base, _env = deployment
    _device, codes = enrol(base, "canbo07")
    for attempt in range(2):
        browser = browsers()
        run = AuthorizationRun("portal", NOWHERE + "portal/cb", scope="openid")
        login = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=NOWHERE)
        mfa = browser.follow(browser.submit(login, {"username": "canbo07", "password": PASSWORD}), stop_at=NOWHERE)
        assert 'id="recovery-code"' in mfa.text and 'name="code" type="text" inputmode' not in mfa.text
        answer = browser.follow(browser.submit(mfa, {"code": codes[0].upper()}), stop_at=NOWHERE)
        if attempt == 0:
            assert answer.status_code in (302, 303) and "code=" in answer.headers["location"]
        else:  # used once already
            assert answer.status_code == 401 and 'role="alert"' in answer.text

"""TOTP through the pages: enrolment on the account page (QR code and secret), then a sign-in to a
relying party with password + code (acr local-mfa, amr otp), and a replayed code refused."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.functional.browser_client import AuthorizationRun, Browser, callback_params
from tests.functional.helpers import call_idp, running_server

PASSWORD = "một câu mật khẩu dài đủ dùng"
SECRET = "totp-portal-secret-0123456789-abcdefghijk"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("totp")) / "var"), "IDP_LOGIN_BACKOFF_SECONDS": "0"}
    assert call_idp(["clients", "add", "portal", "--secret-stdin", "--trusted",
                    "--redirect-uri", "http://127.0.0.1:9/portal/cb"], env, stdin=SECRET + "\n").returncode == 0
    assert call_idp(["users", "add", "canbo02", "--password-stdin"], env, stdin=PASSWORD + "\n").returncode == 0
    with running_server(env) as url:
        yield url


def enrol(browser: Browser) -> str:
    page = browser.follow(browser.http.get("/account"), stop_at="http://127.0.0.1:9")
    page = browser.follow(browser.submit(page, {"username": "canbo02", "password": PASSWORD}), stop_at="x")
    assert page.status_code == 200 and "/account/totp" in page.text
    enrolment = browser.http.get("/account/totp")
    assert 'src="data:image/svg+xml' in enrolment.text
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', enrolment.text).group(1).replace(" ", "")
    wrong = browser.submit(enrolment, {"code": "000000"})
    assert wrong.status_code == 400
    enrolment = browser.http.get("/account/totp")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', enrolment.text).group(1).replace(" ", "")
    done = browser.submit(enrolment, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.text)) == 10
    return secret


def test_enrol_then_sign_in_with_a_second_factor(base: str) -> None:
    browser = Browser(base)
    secret = enrol(browser)
    browser.http.cookies.clear()
    run = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb")
    page = browser.follow(browser.http.get("/authorize", params=run.params()), stop_at=run.redirect_uri)
    mfa = browser.follow(browser.submit(page, {"username": "canbo02", "password": PASSWORD}), stop_at=run.redirect_uri)
    assert mfa.status_code == 200 and 'name="code"' in mfa.text
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the enrolment used this step's code; ±1 step is accepted
    done = browser.follow(browser.submit(mfa, {"code": code}), stop_at=run.redirect_uri)
    assert done.status_code == 302, done.text[:3000]
    tokens = httpx.post(base + "/token", auth=("portal", SECRET), data={
        "grant_type": "authorization_code", "code": callback_params(done)["code"], "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier}).json()
    from jose import jwt

    claims = jwt.get_unverified_claims(tokens["id_token"])
    assert claims["acr"].endswith("/acr/local-mfa") and {"pwd", "otp", "mfa"} <= set(claims["amr"])

    # The same code again (same time step) is refused: a TOTP code works once.
    other = Browser(base)
    run2 = AuthorizationRun("portal", "http://127.0.0.1:9/portal/cb")
    page = other.follow(other.http.get("/authorize", params=run2.params()), stop_at=run2.redirect_uri)
    mfa = other.follow(other.submit(page, {"username": "canbo02", "password": PASSWORD}), stop_at=run2.redirect_uri)
    replay = other.submit(mfa, {"code": code})
    assert replay.status_code == 401 and "Mã xác thực không đúng" in replay.text
    browser.close()
    other.close()

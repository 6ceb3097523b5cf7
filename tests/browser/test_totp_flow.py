"""TOTP in a real browser: enrolment on the account page (QR code, manual key, a wrong code
refused, recovery codes), then a sign-in to a relying party with password and code (acr local-mfa,
amr otp), and the same code refused when replayed in another browser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser.relying_party import (
    LoopbackRelyingParty,
    authorize_url,
    landed_params,
    on_provider,
    record_csp_by_page,
    redeem,
)
from tests.functional.helpers import call_idp, running_server

USERNAME, PASSWORD = "canbo02", "một câu mật khẩu dài đủ dùng"
SECRET = "totp-browser-secret-0123456789-abcdefghijk"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LoopbackRelyingParty]]:
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("totp-browser")) / "var"),
           "IDP_LOGIN_BACKOFF_SECONDS": "0"}
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        setup = env | {"IDP_AUTO_MIGRATE": "true"}
        added = call_idp(["clients", "add", "portal", "--secret-stdin", "--trusted",
                         "--redirect-uri", rp.redirect_uri("portal")], setup, stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
        user = call_idp(["users", "add", USERNAME, "--password-stdin", "--name", "Phạm Văn Đức"], setup,
                       stdin=PASSWORD + "\n")
        assert user.returncode == 0, user.stderr
        with running_server(env) as base:
            yield base, rp
    finally:
        rp.stop()


def sign_in_with_password(page: Any) -> None:
    page.get_by_label("Tên đăng nhập").fill(USERNAME)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()


def enrol(page: Any, base: str) -> str:
    """Turn on two-step verification from the account page; return the secret the page showed."""
    page.goto(f"{base}/account")
    sign_in_with_password(page)
    page.get_by_role("link", name="Bật xác thực hai bước").click()
    assert page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 0")  # the QR code renders
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực đang hiển thị trong ứng dụng").fill("000000")
    page.get_by_role("button", name="Bật xác thực hai bước").click()
    assert page.locator("h1").inner_text() == "Mã xác thực không đúng"  # refused, readable
    page.get_by_role("link", name="Quay lại").click()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực đang hiển thị trong ứng dụng").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bật xác thực hai bước").click()
    assert page.locator("h1").inner_text() == "Mã khôi phục của bạn"
    assert page.locator("main li code").count() == 10  # recovery codes, shown once
    return secret


def test_enrol_then_sign_in_with_the_code(page: Any, browser: Any, deployment: tuple) -> None:
    base, rp = deployment
    csp = record_csp_by_page(page)
    secret = enrol(page, base)
    page.context.clear_cookies()  # a new visit: the relying party sends the person to us

    run = rp.run("portal", "openid profile")
    page.goto(authorize_url(base, run))
    sign_in_with_password(page)
    assert page.locator("h1").inner_text() == "Xác thực hai bước"
    code = pyotp.TOTP(secret).at(time.time() + 30)  # enrolment used this step's code; ±1 step is accepted
    page.get_by_label("Mã xác thực").fill(code)
    page.get_by_role("button", name="Xác nhận").click()
    result = redeem(base, run, landed_params(page, run)["code"], SECRET)
    claims = result["id_token"]
    assert claims["acr"] == f"{base}/acr/local-mfa" and {"pwd", "otp", "mfa"} <= set(claims["amr"])
    assert result["userinfo"]["name"] == "Phạm Văn Đức"
    assert on_provider(csp, base) == []

    other = browser.new_context(locale="vi-VN")  # someone who saw the code types it elsewhere
    other.set_default_timeout(10_000)
    try:
        tab = other.new_page()
        tab.goto(authorize_url(base, rp.run("portal", "openid")))
        sign_in_with_password(tab)
        tab.get_by_label("Mã xác thực").fill(code)
        tab.get_by_role("button", name="Xác nhận").click()
        assert "Mã xác thực không đúng" in tab.get_by_role("alert").inner_text()
        assert tab.url.startswith(base)
    finally:
        other.close()

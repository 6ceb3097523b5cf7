"""Passkeys and required second factors for directory officials, in Chromium with a virtual
authenticator (the DevTools WebAuthn domain: CTAP2, resident keys, user verification) against the
real slapd: an official enrols a passkey on /account, signs in with password + passkey, then without
a password (the resident credential names them); a copy of the credential whose counter lags is
refused and audited; an official for whom the client's policy requires two-step verification is
guided through enrolment at their first sign-in and lands at the client with two factors (the policy
asks it of the holders of a role, which the directory gives a group's members)."""

from __future__ import annotations

import json
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
from tests.data.ldap.slapd import OFFICIAL_PASSWORD, SlapdServer, officials_provider_env
from tests.functional.helpers import call_idp, running_server

SECRET = "passkey-browser-secret-0123456789-abcdef"


def deploy_officials(slapd: SlapdServer, folder: Path, rp: LoopbackRelyingParty, *,
                     roles: dict[str, str] | None = None) -> dict[str, str]:
    """A provider whose clients ``portal`` and ``hoso-mfa`` (two-step verification required of
    one-stop clerks, the directory group ``mot-cua``) take the directory's officials; ``roles`` adds
    directory groups mapped to roles."""
    env = officials_provider_env(slapd, folder, client_id="portal")
    adapters = json.loads((folder / "adapters.yaml").read_text())
    adapters["adapters"][0]["roles"].update(roles or {})
    (folder / "adapters.yaml").write_text(json.dumps(adapters))
    (folder / "policies" / "hoso-mfa.yaml").write_text(
        "version: 1\nclient_id: hoso-mfa\nadapters: [officials]\nscopes: [openid, profile]\n"
        "mfa_required_roles: [one-stop-clerk]\n")  # the directory group mot-cua
    for client_id, name in (("portal", "Cổng dịch vụ công"), ("hoso-mfa", "Hệ thống hồ sơ công việc")):
        added = call_idp(["clients", "add", client_id, "--secret-stdin", "--trusted", "--name", name,
                         "--redirect-uri", rp.redirect_uri(client_id)], env | {"IDP_AUTO_MIGRATE": "true"},
                        stdin=SECRET + "\n")
        assert added.returncode == 0, added.stderr
    return env


@pytest.fixture(scope="module")
def deployment(slapd: SlapdServer, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, LoopbackRelyingParty, dict[str, str]]]:
    folder = Path(tmp_path_factory.mktemp("passkeys-browser"))
    rp = LoopbackRelyingParty()
    rp.start()
    try:
        env = deploy_officials(slapd, folder, rp)
        with running_server(env, host_name="localhost") as base:  # a WebAuthn RP id is a name, not an IP
            yield base, rp, env
    finally:
        rp.stop()


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    """A CTAP2 security key with resident keys and user verification (PIN) in ``page``'s browser."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def sign_in_with_password(page: Any, username: str) -> None:
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(OFFICIAL_PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()


def audit_events(env: dict[str, str], event_type: str) -> list[dict[str, Any]]:
    exported = call_idp(["audit", "export"], env)
    assert exported.returncode == 0, exported.stderr
    return [e for e in map(json.loads, exported.stdout.splitlines()) if e["type"] == event_type]


def test_an_official_enrols_a_passkey_and_signs_in_with_it(page: Any, browser: Any, deployment: tuple) -> None:
    base, rp, env = deployment
    csp = record_csp_by_page(page)
    cdp, authenticator = virtual_authenticator(page)

    page.goto(f"{base}/account")  # enrol: signed in with the directory password, then /account/passkeys
    sign_in_with_password(page, "an.nguyen")
    page.get_by_role("link", name="Quản lý khoá truy cập").click()
    assert page.get_by_text("Bạn chưa đăng ký khoá truy cập nào.").is_visible()
    page.get_by_label("Tên khoá (để bạn nhận ra)").fill("Khoá USB phòng họp")
    page.get_by_role("button", name="Thêm khoá truy cập").click()  # the page's script posts once the key exists
    page.locator("h1", has_text="Mã khôi phục của bạn").wait_for()  # a first factor: a way back, shown once
    assert page.locator("main li code").count() == 10
    page.goto(f"{base}/account/passkeys")
    assert page.locator("ul.passkeys .grant-name").all_inner_texts() == ["Khoá USB phòng họp"]
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] and stored[0]["rpId"] == "localhost"
    assert len(audit_events(env, "mfa.passkey.enrolled")) == 1
    page.context.clear_cookies()

    run = rp.run("portal", "openid profile")  # password, then the passkey
    page.goto(authorize_url(base, run))
    sign_in_with_password(page, "an.nguyen")
    assert page.locator("h1").inner_text() == "Xác thực hai bước"
    page.get_by_role("link", name="Dùng khoá truy cập").click()
    page.get_by_role("button", name="Dùng khoá truy cập").click()
    claims = redeem(base, run, landed_params(page, run)["code"], SECRET)["id_token"]
    assert claims["acr"] == f"{base}/acr/local-mfa"
    assert {"pwd", "hwk", "user", "pin", "mfa"} <= set(claims["amr"])
    page.context.clear_cookies()

    run = rp.run("portal", "openid profile")  # no password: the resident credential says who
    page.goto(authorize_url(base, run))
    page.get_by_role("link", name="Đăng nhập bằng khoá truy cập (passkey)").click()
    page.get_by_role("button", name="Dùng khoá truy cập").click()
    result = redeem(base, run, landed_params(page, run)["code"], SECRET)
    claims = result["id_token"]
    assert claims["acr"] == f"{base}/acr/local-mfa" and "pwd" not in claims["amr"]
    assert {"hwk", "user", "pin", "mfa"} <= set(claims["amr"])
    assert result["userinfo"]["name"] == "Nguyễn Văn An"  # the directory, asked again now
    assert on_provider(csp, base) == []

    page.goto(f"{base}/account/passkeys")  # the last use shows
    assert "Chưa dùng" not in page.locator("ul.passkeys").inner_text()

    # A copy of the credential whose signature counter is behind the one we saw: refused, audited.
    credential = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
    assert credential["signCount"] >= 2
    other = browser.new_context(locale="vi-VN")
    other.set_default_timeout(10_000)
    try:
        tab = other.new_page()
        clone_cdp, clone = virtual_authenticator(tab)
        clone_cdp.send("WebAuthn.addCredential", {"authenticatorId": clone, "credential": {
            **{k: credential[k] for k in ("credentialId", "rpId", "privateKey", "userHandle")},
            "isResidentCredential": True, "signCount": 0}})
        tab.goto(authorize_url(base, rp.run("portal", "openid")))
        tab.get_by_role("link", name="Đăng nhập bằng khoá truy cập (passkey)").click()
        tab.get_by_role("button", name="Dùng khoá truy cập").click()
        tab.wait_for_load_state()
        assert "Không xác thực được bằng khoá truy cập" in tab.get_by_role("alert").inner_text()
        assert tab.url.startswith(base)  # the relying party got nothing
    finally:
        other.close()
    cloned = audit_events(env, "mfa.passkey.cloned")
    assert len(cloned) == 1 and cloned[0]["outcome"] == "denied"
    assert cloned[0]["details"]["presented"] < cloned[0]["details"]["stored"]


def test_an_official_required_to_use_two_factors_enrols_at_the_first_sign_in(page: Any, deployment: tuple) -> None:
    base, rp, _env = deployment
    csp = record_csp_by_page(page)
    run = rp.run("hoso-mfa", "openid profile")
    page.goto(authorize_url(base, run))
    sign_in_with_password(page, "binh.tran")
    assert page.locator("h1").inner_text() == "Cần bật xác thực hai bước"  # explained, not a dead end
    assert "Hệ thống hồ sơ công việc yêu cầu xác thực hai bước" in page.locator("main").inner_text()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực đang hiển thị trong ứng dụng").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bật xác thực hai bước").click()
    assert page.locator("h1").inner_text() == "Mã khôi phục của bạn"
    assert page.locator("main li code").count() == 10
    page.get_by_role("button", name="Tôi đã lưu mã, tiếp tục đăng nhập").click()
    claims = redeem(base, run, landed_params(page, run)["code"], SECRET)["id_token"]
    assert claims["acr"] == f"{base}/acr/local-mfa" and {"pwd", "otp", "mfa"} <= set(claims["amr"])
    assert on_provider(csp, base) == []
    page.context.clear_cookies()

    run = rp.run("hoso-mfa", "openid")  # the next sign-in asks for the code right after the password
    page.goto(authorize_url(base, run))
    sign_in_with_password(page, "binh.tran")
    assert page.locator("h1").inner_text() == "Xác thực hai bước"
    page.get_by_label("Mã xác thực", exact=True).fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Xác nhận").click()
    assert "code" in landed_params(page, run)

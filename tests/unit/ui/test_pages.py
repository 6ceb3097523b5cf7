"""Every page renders in both languages with every message present, accessibly, without caching."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from idp.settings import Settings
from tests.unit.ui.conftest import PAGES, REDIRECT_URI, build_app
from tests.unit.ui.htmlcheck import Page

LOCALES = ("vi", "en")
TITLES = {
    "login.html": ("Đăng nhập", "Sign in"),
    "consent.html": ("Cho phép chia sẻ thông tin", "Allow access to your information"),
    "organisation.html": ("Thực hiện với tư cách", "Acting as"),
    "logout_confirm.html": ("Đăng xuất", "Sign out"),
    "logged_out.html": ("Đã đăng xuất", "Signed out"),
    "error.html": ("Dịch vụ chưa được đăng ký", "Service not registered"),
    "account.html": ("Tài khoản của tôi", "My account"),
    "mfa.html": ("Xác thực hai bước", "Two-step verification"),
    "totp_enroll.html": ("Bật xác thực hai bước", "Turn on two-step verification"),
    "passkey.html": ("Khoá truy cập (passkey)", "Passkey"),
    "enrol.html": ("Cần bật xác thực hai bước", "Two-step verification is required"),
    "enrolled.html": ("Mã khôi phục của bạn", "Your recovery codes"),
    "account_passkeys.html": ("Khoá truy cập (passkey)", "Passkeys"),
    "select_account.html": ("Chọn tài khoản", "Choose an account"),
    "chip.html": ("Xác thực bằng thẻ căn cước gắn chip", "Verify with your chip ID card"),
    "counter.html": ("Đối chiếu thẻ căn cước tại bộ phận một cửa", "Chip ID card check at the one-stop-shop counter"),
    "signatures.html": ("Kiểm tra chữ ký số", "Check a digital signature"),
    "certificate.html": ("Đăng nhập bằng chữ ký số", "Sign in with a digital signature"),
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", sorted(PAGES))
def test_page_renders_in_both_languages(client: TestClient, template: str, locale: str) -> None:
    response = client.get(f"/page/{template}", params={"ui_locales": locale})
    assert response.status_code == 200, response.text
    page = Page(response.text)
    assert page.lang == locale
    assert response.headers["content-language"] == locale
    title = TITLES[template][LOCALES.index(locale)]
    assert f"<title>{title} – " in response.text
    assert page.h1 == 1
    # Every visible field has a label; every POST form carries the CSRF token.
    visible = [i for i in page.inputs if i.get("type") != "hidden"]
    assert all(i.get("id") in page.label_for for i in visible)
    for form in page.forms:
        assert form.attrs["method"] == "post"
        assert any(i.get("name") == "csrf_token" and i.get("value") for i in form.inputs)
    assert page.inline_scripts == 0 and page.styles_inline == 0 and page.autofocus <= 1
    assert response.headers["cache-control"] == "no-store"


def test_login_page_content(client: TestClient) -> None:
    text = client.get("/page/login.html").text
    assert 'href="/login/vneid?i=abc"' in text and "Đăng nhập bằng VNeID" in text
    assert "Tài khoản cán bộ" in text
    assert "<label for=\"username-1\">Tên đăng nhập</label>" in text
    assert "<label for=\"password-1\">Mật khẩu</label>" in text
    assert 'autocomplete="current-password"' in text
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in text and 'role="alert"' in text
    english = client.get("/page/login.html", params={"ui_locales": "en"}).text
    assert "Staff account" in english and "Sign in with VNeID" in english


def test_consent_page_marks_restricted_scopes(client: TestClient) -> None:
    text = client.get("/page/consent.html").text
    assert "Hệ thống một cửa đề nghị được truy cập thông tin của bạn" in text
    assert "Số định danh cá nhân 12 chữ số" in text
    assert "Thông tin được bảo vệ" in text and 'class="notice"' in text
    assert "custom_scope" in text and "x_unknown_claim" in text and "Ngày sinh" in text
    assert 'value="allow"' in text and 'value="deny"' in text


def test_demo_banner_and_brand(tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path, ui_strict_messages=True, demo=False,
                        brand_name="Cổng xác thực tỉnh Quảng Ninh")
    with TestClient(build_app(settings)) as client:
        vi = client.get("/page/logged_out.html").text
        en = client.get("/page/logged_out.html", params={"ui_locales": "en"}).text
    assert "Bản trình diễn" not in vi
    assert "Cổng xác thực tỉnh Quảng Ninh" in vi and "Cổng xác thực tỉnh Quảng Ninh" in en


def test_demo_banner_shown_in_demo_mode(client: TestClient) -> None:
    assert "Bản trình diễn — không dùng cho dịch vụ thật" in client.get("/page/login.html").text


def test_language_switch_link_and_cookie(client: TestClient) -> None:
    page = Page(client.get("/page/login.html").text)
    switch = [link for link in page.links if link.get("hreflang") == "en"]
    assert switch and switch[0]["href"] == "/page/login.html?ui_locales=en"
    response = client.get(str(switch[0]["href"]))
    assert "Sign in" in response.text
    assert "idp_locale=en" in response.headers["set-cookie"]
    # The choice sticks without the parameter, and a relying party's hint does not override it.
    assert Page(client.get("/page/login.html").text).lang == "en"


def test_accept_language_picks_english(client: TestClient) -> None:
    response = client.get("/page/login.html", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert Page(response.text).lang == "en"


def test_error_page_with_unknown_message_falls_back(client: TestClient) -> None:
    response = client.get("/error/no_such_message")
    assert response.status_code == 400
    assert "Đã có lỗi xảy ra" in response.text


def test_error_page_escapes_detail(client: TestClient) -> None:
    response = client.get("/page-error")
    assert response.status_code == 400
    assert "Địa chỉ trả về không hợp lệ" in response.text
    assert "redirect_uri=https://evil.example/" in response.text


def test_form_post_page_works_without_javascript(client: TestClient) -> None:
    response = client.get("/form-post")
    page = Page(response.text)
    [form] = page.forms
    assert form.attrs["action"] == REDIRECT_URI
    assert {i["name"]: i["value"] for i in form.inputs} == {
        "code": "c<1>", "state": 's"2', "iss": "http://127.0.0.1:8000"}
    assert form.buttons and form.buttons[0]["type"] == "submit"
    assert [s["src"] for s in page.scripts][0].startswith("/static/form_post.js?v=")
    csp = response.headers["content-security-policy"]
    assert "form-action 'self' https://rp.example.vn:8443;" in csp and "script-src 'self'" in csp
    assert response.headers["cache-control"] == "no-store"


def test_static_files_served(client: TestClient) -> None:
    css = client.get("/static/idp.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/form_post.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2Fi18n.py").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404


def test_totp_qr_code_is_an_svg_data_uri() -> None:
    import base64

    from idp.mfa.totp import qr_svg_data_uri as qr_data_uri

    uri = qr_data_uri("otpauth://totp/T%E1%BB%89nh:an?secret=JBSWY3DPEHPK3PXP&issuer=Tinh")
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1])
    assert b"<svg" in svg and b"<path" in svg and b"<script" not in svg


def test_passkey_pages_carry_their_options_escaped_and_run_only_our_script(client: TestClient) -> None:
    for template in ("passkey.html", "enrol.html", "account_passkeys.html"):
        response = client.get(f"/page/{template}")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert '/static/passkey.js?v=' in response.text and "<script>" not in response.text
        assert "<xác thực>" not in response.text  # markup in a name stays text in the data attribute
    enrol = client.get("/page/enrol.html").text
    assert "Hệ thống hồ sơ yêu cầu xác thực hai bước" in enrol  # why, before how
    assert 'data-passkey="create"' in enrol and 'name="code"' in enrol  # a passkey or an authenticator app
    assert "script-src" not in client.get("/page/mfa.html").headers["content-security-policy"]

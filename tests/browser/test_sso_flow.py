"""Single sign-on in a real browser at ``idp serve --demo``: the two demo relying parties
(demo-portal, demo-motcua; real OIDC clients that show the verified ID token in ``#claims``) reached
with one sign-in, by a local account and by a citizen through each national sandbox upstream
(VNeID, the national portal); logout at one ends the session for both.

The README screenshot of the login page comes from here::

    IDP_WRITE_SCREENSHOT=docs/login-vi.png .venv/bin/pytest tests/browser/test_sso_flow.py -k screenshot
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.relying_party import on_provider, record_csp_by_page
from tests.functional.helpers import call_idp, running_server

USERNAME, PASSWORD = "canbo01", "một câu mật khẩu dài đủ dùng"
PORTAL, MOTCUA = "demo-portal", "demo-motcua"
MOTCUA_NAME = "Hệ thống một cửa điện tử (bản trình diễn)"
SCREENSHOT_LIMIT = 150_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``idp serve --demo`` (it starts the national sandbox itself) with one more local account."""
    env = {"IDP_DATA_DIR": str(Path(tmp_path_factory.mktemp("demo")) / "var"), "IDP_LOGIN_BACKOFF_SECONDS": "0"}
    added = call_idp(["users", "add", USERNAME, "--password-stdin", "--name", "Trần Thị Bình",
                     "--email", "binh@example.vn"], env | {"IDP_AUTO_MIGRATE": "true"}, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with running_server(env, extra_args=["--demo"]) as base:
        yield base


def shown(page: Any, client_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ID token claims and userinfo the demo relying party shows after its callback."""
    page.wait_for_url(f"**/demo/{client_id}/callback?**")
    return json.loads(page.locator("#claims").inner_text()), json.loads(page.locator("#userinfo").inner_text())


def allow_if_asked(page: Any) -> None:
    """Consent for a service seen for the first time (a click, nothing typed)."""
    assert page.locator("input[type=password]").count() == 0
    if "/consent" in page.url:
        page.get_by_role("button", name="Đồng ý").click()


def sign_in_upstream(page: Any, demo: str, upstream: str, citizen: str) -> None:
    """At demo-portal: choose the upstream on our login page, pick the citizen at the sandbox."""
    page.goto(f"{demo}/demo/{PORTAL}/login")
    page.locator(f"a[href$='/upstream/{upstream}']").click()
    page.wait_for_url(f"**/{upstream}/**")
    assert not page.url.startswith(demo)  # the browser is at the (simulated) national system
    page.locator(f"input[name=citizen][value='{citizen}']").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()
    page.wait_for_url(f"{demo}/**")
    allow_if_asked(page)


def test_one_sign_in_reaches_both_services_and_logout_ends_both(page: Any, demo: str) -> None:
    csp = record_csp_by_page(page)
    page.goto(f"{demo}/demo/{PORTAL}")
    page.get_by_role("link", name="Đăng nhập / Sign in").click()
    assert page.locator("h1").inner_text() == "Đăng nhập" and page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Tên đăng nhập").fill(USERNAME)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    allow_if_asked(page)
    portal, portal_info = shown(page, PORTAL)
    assert portal["aud"] == PORTAL and portal["amr"] == ["pwd"] and portal_info["name"] == "Trần Thị Bình"

    page.get_by_role("link", name=MOTCUA_NAME).click()  # the second service: nothing typed
    allow_if_asked(page)
    motcua, motcua_info = shown(page, MOTCUA)
    assert motcua["aud"] == MOTCUA and motcua_info["name"] == "Trần Thị Bình"
    assert motcua["sub"] != portal["sub"]  # pairwise per service
    assert motcua["sid"] == portal["sid"]  # one session

    page.goto(f"{demo}/demo/{PORTAL}/login")  # both consented: straight back, no page of ours at all
    again, _ = shown(page, PORTAL)
    assert again["sub"] == portal["sub"] and again["sid"] == portal["sid"]

    page.get_by_role("link", name="Đăng xuất / Sign out").click()
    page.wait_for_url(f"{demo}/demo/{PORTAL}?state=*")
    assert "vnidp_session" not in {cookie["name"] for cookie in page.context.cookies()}
    for client_id in (MOTCUA, PORTAL):  # the session is gone for both: each asks for a sign-in again
        page.goto(f"{demo}/demo/{client_id}/login")
        page.wait_for_url(f"{demo}/interaction/*/login")
        assert page.get_by_label("Mật khẩu").count() == 1
    assert on_provider(csp, demo) == []


@pytest.mark.parametrize(
    ("upstream", "citizen", "name", "birthdate"),
    [
        ("vneid", "048193004567", "Trần Thị Bích Ngọc", None),  # VNeID releases no birthdate
        ("dvcqg", "049201000789", "Lê Minh Khôi", "2001-07-30"),  # the portal says NgayThangNamSinh=20010730
    ],
)
def test_citizen_signs_in_upstream_once_and_reaches_both_services(
    page: Any, demo: str, upstream: str, citizen: str, name: str, birthdate: str | None
) -> None:
    csp = record_csp_by_page(page)
    sign_in_upstream(page, demo, upstream, citizen)
    portal, portal_info = shown(page, PORTAL)
    assert portal["acr"] == f"{demo}/acr/vneid-l1"  # the demo's mapping ("1" from VNeID, LoA1 from the portal)
    family, *middle, given = name.split()
    assert (portal_info["name"], portal_info["family_name"], portal_info["given_name"]) == (name, family, given)
    assert portal_info["middle_name"] == " ".join(middle) and portal_info.get("birthdate") == birthdate
    assert portal_info["vn_personal_id"] == citizen  # the vn_id scope; never the sub
    assert portal_info["vn_login_idp"] == "vneid"  # both upstreams: the person authenticated with VNeID
    assert citizen not in portal["sub"]

    page.get_by_role("link", name=MOTCUA_NAME).click()  # no second trip to the national system
    page.wait_for_url(f"{demo}/**")
    allow_if_asked(page)
    motcua, motcua_info = shown(page, MOTCUA)
    assert motcua["sid"] == portal["sid"] and motcua["sub"] != portal["sub"]
    assert motcua["acr"] == portal["acr"] and motcua_info["vn_personal_id"] == citizen
    assert on_provider(csp, demo) == []


def test_both_upstreams_lead_to_the_same_person(browser: Any, demo: str) -> None:
    subs = []
    for upstream in ("vneid", "dvcqg"):
        context = browser.new_context(locale="vi-VN")
        context.set_default_timeout(10_000)
        try:
            tab = context.new_page()
            sign_in_upstream(tab, demo, upstream, "049066000321")
            subs.append(shown(tab, PORTAL)[0]["sub"])
        finally:
            context.close()
    assert subs[0] == subs[1]


def repeated_phrase(text: str) -> str | None:
    """A phrase of two or more words said twice in a row ("Đăng nhập bằng Đăng nhập bằng ...")."""
    words = text.split()
    for n in range(2, len(words) // 2 + 1):
        for i in range(len(words) - 2 * n + 1):
            if words[i:i + n] == words[i + n:i + 2 * n]:
                return " ".join(words[i:i + n])
    return None


def test_login_page_names_each_way_to_sign_in_once(page: Any, demo: str) -> None:
    page.goto(f"{demo}/demo/{PORTAL}/login")
    assert page.get_by_role("link", name="Đăng nhập bằng VNeID", exact=True).count() == 1
    labels = page.locator("main a.button, main h2, main label, main button").all_inner_texts()
    assert [(label, repeated_phrase(label)) for label in labels if repeated_phrase(label)] == []


def test_demo_relying_party_pages_respect_the_csp(page: Any, demo: str) -> None:
    page.goto(f"{demo}/demo")
    page.goto(f"{demo}/demo/{PORTAL}")
    assert page.csp_errors == []


def test_login_page_screenshot(page: Any, demo: str, tmp_path: Path) -> None:
    """The login page as a newcomer sees it first (Vietnamese), small enough for the README."""
    page.set_viewport_size({"width": 760, "height": 600})
    page.goto(f"{demo}/demo/{PORTAL}/login")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.locator("body").click(position={"x": 2, "y": 2})  # no focus ring in the picture
    target = Path(os.environ.get("IDP_WRITE_SCREENSHOT") or tmp_path / "login-vi.png")
    page.screenshot(path=str(target), full_page=True)
    assert 10_000 < target.stat().st_size < SCREENSHOT_LIMIT
    assert page.csp_errors == []

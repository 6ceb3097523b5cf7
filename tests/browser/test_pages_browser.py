"""The pages in a real browser: styles allowed by the CSP, focus, language switch, CSRF round trip,
form_post with and without JavaScript, and redirects to a client after a form POST."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from idp.settings import Settings
from idp.ui.render import form_post_page, render_page
from idp.web.csrf import check_csrf
from tests.unit.ui.conftest import PAGES, build_app


def _relying_party(received: list[dict[str, str]]) -> FastAPI:
    rp = FastAPI()

    @rp.post("/cb")
    async def callback_post(request: Request) -> HTMLResponse:
        received.append({k: str(v) for k, v in (await request.form()).items()})
        return HTMLResponse("<title>rp</title><p id=rp>received</p>")

    @rp.get("/cb")
    def callback_get(request: Request) -> HTMLResponse:
        received.append(dict(request.query_params))
        return HTMLResponse("<title>rp</title><p id=rp>landed</p>")

    return rp


def _provider(tmp_path: Path) -> FastAPI:
    def routes(app: FastAPI) -> None:
        @app.post("/consent")
        async def consent(request: Request) -> Any:
            form = await request.form()
            check_csrf(request, form)
            return HTMLResponse(f"<title>ok</title><p id=decision>{form.get('decision')}</p>")

        @app.get("/to-rp")
        def to_rp(request: Request, rp: str, allow: bool = True) -> Any:
            context = {**PAGES["login.html"], "form_action": f"/to-rp?rp={rp}", "error_id": None}
            return render_page(request, "login.html", context, form_targets=[rp] if allow else [])

        @app.post("/to-rp")
        async def to_rp_post(request: Request, rp: str) -> Any:
            check_csrf(request, await request.form())
            return RedirectResponse(f"{rp}/cb?code=abc&state=xyz", status_code=303)

        @app.get("/fp")
        def form_post(request: Request, rp: str) -> Any:
            return form_post_page(request, f"{rp}/cb", {"code": "abc", "state": "xyz"})

    return build_app(Settings(data_dir=tmp_path, ui_strict_messages=True, demo=True), routes)


@pytest.fixture
def sites(tmp_path: Path, serve: Callable[[Any], str]) -> tuple[str, str, list[dict[str, str]]]:
    received: list[dict[str, str]] = []
    return serve(_provider(tmp_path)), serve(_relying_party(received)), received


def test_login_page_styled_focused_and_switches_language(page: Any, sites: tuple[str, str, list]) -> None:
    idp, _, _ = sites
    page.goto(f"{idp}/page/login.html")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.title().startswith("Đăng nhập")
    # The stylesheet loaded (CSP style-src 'self'): the header has the brand colour.
    assert page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor") == "rgb(155, 28, 28)"
    assert page.evaluate("document.activeElement.id") == "username-1"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password-1"
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Sign in"
    page.goto(f"{idp}/page/login.html")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.csp_errors == []


def test_consent_form_posts_with_csrf(page: Any, sites: tuple[str, str, list]) -> None:
    idp, _, _ = sites
    page.goto(f"{idp}/page/consent.html")
    page.get_by_role("button", name="Đồng ý").click()
    assert page.locator("#decision").inner_text() == "allow"


def test_form_post_submits_itself_with_javascript(page: Any, sites: tuple[str, str, list]) -> None:
    idp, rp, received = sites
    page.goto(f"{idp}/fp?rp={rp}")
    page.wait_for_url(f"{rp}/cb")
    assert page.locator("#rp").inner_text() == "received"
    assert received == [{"code": "abc", "state": "xyz"}]
    assert page.csp_errors == []


def test_form_post_works_without_javascript(browser: Any, sites: tuple[str, str, list]) -> None:
    idp, rp, received = sites
    context = browser.new_context(java_script_enabled=False, locale="vi-VN")
    context.set_default_timeout(10_000)
    try:
        tab = context.new_page()
        tab.goto(f"{idp}/fp?rp={rp}")
        assert received == []
        tab.get_by_role("button", name="Tiếp tục").click()
        tab.wait_for_url(f"{rp}/cb")
        assert received == [{"code": "abc", "state": "xyz"}]
    finally:
        context.close()


def test_redirect_to_the_client_after_a_form_post_is_allowed(page: Any, sites: tuple[str, str, list]) -> None:
    idp, rp, received = sites
    page.goto(f"{idp}/to-rp?rp={rp}")
    page.fill("#username-1", "an")
    page.fill("#password-1", "x")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{rp}/cb?code=abc&state=xyz")
    assert received == [{"code": "abc", "state": "xyz"}]


def test_redirect_to_an_unlisted_origin_is_blocked_by_form_action(page: Any,
                                                                   sites: tuple[str, str, list]) -> None:
    idp, rp, received = sites
    page.goto(f"{idp}/to-rp?rp={rp}&allow=false")
    page.fill("#username-1", "an")
    page.fill("#password-1", "x")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_timeout(800)
    assert received == []
    assert any("form-action" in error for error in page.csp_errors)


def test_every_page_loads_without_csp_violations(page: Any, sites: tuple[str, str, list]) -> None:
    idp, _, _ = sites
    for template in sorted(PAGES):
        page.goto(f"{idp}/page/{template}")
        assert page.evaluate("document.styleSheets.length") == 1, template
    assert page.csp_errors == []


def test_totp_qr_image_is_allowed_by_csp(page: Any, sites: tuple[str, str, list], tmp_path: Path,
                                         serve: Callable[[Any], str]) -> None:
    from idp.mfa.totp import qr_svg_data_uri as qr_data_uri

    def routes(app: FastAPI) -> None:
        @app.get("/totp")
        def totp(request: Request) -> Any:
            return render_page(request, "totp_enroll.html", {
                "qr_data_uri": qr_data_uri("otpauth://totp/Tinh:an?secret=JBSWY3DPEHPK3PXP&issuer=Tinh"),
                "secret": "JBSWY3DPEHPK3PXP", "form_action": "/totp"})

    base = serve(build_app(Settings(data_dir=tmp_path, ui_strict_messages=True), routes))
    page.goto(f"{base}/totp")
    assert page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 0")
    assert page.locator("code.secret").inner_text() == "JBSW Y3DP EHPK 3PXP"
    assert page.csp_errors == []

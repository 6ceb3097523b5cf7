"""A small app with the UI layer installed and one route per page, in strict message mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from idp.errors import OAuthError, PageError
from idp.settings import Settings
from idp.ui import static_router
from idp.ui.render import error_page, form_post_page, render_page
from idp.web.csrf import check_csrf
from idp.web.middleware import install

REDIRECT_URI = "https://rp.example.vn:8443/callback"

# WebAuthn options as the passkey pages carry them (a name with markup: escaped in the attribute).
PASSKEY_GET = ('{"challenge": "c2Vj", "rpId": "id.example.gov.vn", "allowCredentials": [], '
               '"userVerification": "required"}')
PASSKEY_CREATE = ('{"challenge": "c2Vj", "rp": {"id": "id.example.gov.vn", "name": "Cổng <xác thực>"}, '
                  '"user": {"id": "dQ", "name": "an.nguyen", "displayName": "Nguyễn Văn An"}}')

PAGES: dict[str, dict[str, Any]] = {
    "login.html": {
        "client_name": "Cổng dịch vụ công tỉnh",
        "adapters": [
            {"id": "vneid", "kind": "redirect", "display_name": "VNeID", "start_url": "/login/vneid?i=abc"},
            {"id": "ldap", "kind": "password", "display_name": {"vi": "Tài khoản cán bộ", "en": "Staff account"},
             "start_url": None},
        ],
        "login_hint": None, "error_id": "login_failed", "form_action": "/login", "interaction": "abc",
    },
    "organisation.html": {
        "client_name": "Dịch vụ cho doanh nghiệp", "myself": "self", "error_id": None,
        "organisations": [{"tax_code": "0401234567", "name": "Công ty TNHH Thương mại Sông Hàn",
                           "role": "representative"}],
        "form_action": "/interaction/abc/organisation",
    },
    "consent.html": {
        "client_name": "Hệ thống một cửa",
        "scopes": [{"name": "openid", "description_id": "scope.openid.description"},
                   {"name": "profile", "description_id": "scope.profile.description"},
                   {"name": "vn_id", "description_id": "scope.vn_id.description", "restricted": True},
                   {"name": "custom_scope"}],
        "claims": ["birthdate", "x_unknown_claim"], "form_action": "/consent", "interaction": "abc",
    },
    "logout_confirm.html": {"client_name": "Cổng dịch vụ công", "form_action": "/logout",
                            "hidden": {"state": "s1"}},
    "logged_out.html": {"client_name": "Cổng dịch vụ công", "return_url": "https://rp.example.vn/"},
    "error.html": {"message_id": "unknown_client", "detail": "client_id=abc"},
    "account.html": {
        "user_name": "Nguyễn Văn An",
        "grants": [{"client_id": "rp1", "client_name": "Hệ thống một cửa", "scopes": ["openid", "profile"],
                    "granted_at": "2025-07-01", "revoke_action": "/account/revoke"}],
        "recent_signins": [{"time": "2025-07-01 08:00", "client_name": "Một cửa", "method": "pwd",
                            "ip": "127.0.0.1"}],
        "logout_action": "/logout", "totp_enroll_url": "/account/totp",
    },
    "mfa.html": {"form_action": "/mfa", "interaction": "abc", "error_id": "invalid_code", "recovery": True},
    "totp_enroll.html": {"qr_data_uri": "data:image/svg+xml;base64,PHN2Zy8+", "secret": "JBSWY3DPEHPK3PXP",
                         "form_action": "/account/totp"},
    "passkey.html": {"options": PASSKEY_GET, "second_factor": False,
                     "form_action": "/interaction/abc/passkey", "interaction": "abc",
                     "login_url": "/interaction/abc/login", "error_id": "passkey_failed"},
    "enrol.html": {"client_name": "Hệ thống hồ sơ", "qr_data_uri": "data:image/svg+xml;base64,PHN2Zy8+",
                   "secret": "JBSWY3DPEHPK3PXP", "passkey_options": PASSKEY_CREATE,
                   "passkey_action": "/interaction/abc/enrol/passkey", "form_action": "/interaction/abc/enrol",
                   "interaction": "abc"},
    "enrolled.html": {"codes": ["k7q2-m4xa-9fde-wr3b"], "form_action": "/interaction/abc/enrolled",
                      "interaction": "abc"},
    "account_passkeys.html": {"passkeys": [{"id": "p1", "name": "Khoá USB", "created_at": "2026-12-07T08:00:00+00:00",
                                             "last_used_at": None}],
                              "options": PASSKEY_CREATE, "form_action": "/account/passkeys",
                              "remove_action": "/account/passkeys/remove", "notice_id": "account.passkeys.added"},
    "chip.html": {"adapter_name": {"vi": "Thẻ căn cước gắn chip", "en": "Chip ID card"}, "token": "tok-<abc>",
                  "qr_data_uri": "data:image/svg+xml;base64,PHN2Zy8+", "reads_url": "https://id.example.gov.vn/r",
                  "expires_in": 600, "selfie": True, "reason": "dg_hash_mismatch", "error_id": "chip_refused",
                  "form_action": "/interaction/abc/chip", "interaction": "abc"},
    "counter.html": {"counter_id": "counter-abc", "token": "tok-<abc>", "reads_url": "https://id.example.gov.vn/r",
                     "qr_data_uri": "data:image/svg+xml;base64,PHN2Zy8+", "expires_in": 600,
                     "statement": "eyJ.eyJ.sig", "service_request": "000.00.01.H01-1", "form_action": "/counter/ekyc"},
    "select_account.html": {"client_name": "Một cửa", "accounts": [{"id": "s1", "user_name": "Nguyễn Văn An"}],
                            "form_action": "/select", "interaction": "abc"},
    "certificate.html": {"adapter_name": {"vi": "chữ ký số (USB token)", "en": "digital signature (USB token)"},
                         "adapter_id": "chukyso", "challenge": "vn-idp sign-in chukyso 1765000000 abc",
                         "signing_tool_url": "http://127.0.0.1:41250", "form_action": "/interaction/abc/certificate",
                         "error_id": "cert.error.cert_revoked", "mtls": True, "remote": True,
                         "remote_pending": False},
    "signatures.html": {"report": {"format": "pdf", "sha256": "ab" * 32, "outcome": "invalid", "signatures": [
        {"index": 1, "verdict": "invalid", "intact": True, "coverage": "whole_document", "signing_time": None,
         "timestamp": None, "ltv": False, "signer": "Common Name: Lê Văn Cường", "issuer": "VNPT-CA",
         "status": "revoked", "status_text": "Chứng thư số đã bị thu hồi.", "revocation": "ocsp",
         "revocation_time": "2026-12-07T08:00:00+00:00"}]}, "error_id": None},
}


def build_app(settings: Settings, extra: Callable[[FastAPI], None] | None = None) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    install(app, settings)
    app.include_router(static_router.router)

    @app.get("/page/{template}")
    def page(request: Request, template: str) -> Any:
        return render_page(request, template, PAGES[template])

    @app.get("/error/{message_id}")
    def error(request: Request, message_id: str) -> Any:
        return error_page(request, message_id, status_code=400)

    @app.get("/form-post")
    def form_post(request: Request) -> Any:
        return form_post_page(request, REDIRECT_URI, {"code": "c<1>", "state": "s\"2", "iss": settings.issuer})

    @app.post("/submit")
    async def submit(request: Request) -> Any:
        check_csrf(request, await request.form())
        return JSONResponse({"ok": True})

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("secret-internal-detail /etc/passwd")

    @app.get("/token/boom")
    def api_boom() -> Any:
        raise RuntimeError("secret-internal-detail")

    @app.post("/token")
    def token() -> Any:
        raise OAuthError("invalid_client", "client authentication failed", status_code=401)

    @app.get("/userinfo")
    def userinfo() -> Any:
        raise OAuthError("invalid_token", status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    @app.get("/page-error")
    def page_error() -> Any:
        raise PageError("redirect_uri_mismatch", detail="redirect_uri=https://evil.example/")

    @app.get("/needs-int")
    def needs_int(n: int) -> Any:
        return {"n": n}

    if extra:
        extra(app)
    return app


@pytest.fixture
def ui_settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, ui_strict_messages=True, demo=True)


@pytest.fixture
def client(ui_settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_app(ui_settings), raise_server_exceptions=False) as test_client:
        yield test_client

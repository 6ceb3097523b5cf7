"""HTTP endpoints of one simulated upstream (Starlette): discovery, authorize (login page and
its form), token, userinfo, JWKS, logout — at the paths of its shape."""

from __future__ import annotations

import asyncio
import base64
import hmac
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from idp.sandbox.pages import error_page, login_page
from idp.sandbox.provider import SandboxProvider
from idp.sandbox.tokens import id_token
from idp.specs.rfc7636_pkce import s256_code_challenge
from idp.web.context import bounded_body


def _oauth_error(error: str, status: int = 400, description: str | None = None) -> JSONResponse:
    body = {"error": error} | ({"error_description": description} if description else {})
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


MAX_FORM_BYTES = 64 * 1024


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded body (last value of a repeated name), or None when it is over the limit
    (read no further)."""
    body = await bounded_body(request, MAX_FORM_BYTES)
    if body is None:
        return None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id"), form.get("client_secret")


def build_app(provider: SandboxProvider) -> Starlette:
    """The Starlette app of one simulator (mount it at the provider's base URL path)."""
    shape = provider.shape

    def url(path: str) -> str:
        return provider.base_url.rstrip("/") + path

    async def guard(request: Request) -> Response | None:
        if provider.mode == "down":
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        return None

    async def discovery(request: Request) -> Response:
        return await guard(request) or JSONResponse(
            {
                "issuer": provider.issuer,
                "authorization_endpoint": url(shape.authorize_path),
                "token_endpoint": url(shape.token_path),
                "userinfo_endpoint": url(shape.userinfo_path),
                "jwks_uri": url(shape.jwks_path),
                "end_session_endpoint": url(shape.logout_path),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "profile"],
            }
        )

    async def authorize(request: Request) -> Response:
        if (blocked := await guard(request)) is not None:
            return blocked
        if request.method == "GET":
            params = dict(request.query_params)
        elif (form := await _form(request)) is not None:
            params = form
        else:
            return HTMLResponse(error_page("Yêu cầu quá lớn."), 413)
        client = provider.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or not client.allows_redirect(redirect_uri):
            return HTMLResponse(error_page("Ứng dụng hoặc địa chỉ chuyển hướng không được đăng ký."), 400)

        def back(values: dict[str, str]) -> RedirectResponse:
            if "state" in params:
                values["state"] = params["state"]
            if shape.iss_in_response:
                values["iss"] = provider.issuer
            joiner = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(redirect_uri + joiner + urlencode(values), status_code=302)

        if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
            return back({"error": "invalid_request"})
        if params.get("code_challenge_method", "S256" if "code_challenge" in params else "") not in ("S256", ""):
            return back({"error": "invalid_request", "error_description": "S256 only"})
        if request.method == "GET":
            page = login_page(shape.title, url(shape.authorize_path), params, provider.citizens,
                              provider.organisations if shape.organisation_accounts else ())
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})
        if params.get("decision") != "allow":
            return back({"error": "access_denied"})
        account = provider.account(params.get("citizen", ""))
        if account is None:
            return back({"error": "access_denied"})
        return back({"code": provider.issue_code(params, *account)})

    async def token(request: Request) -> Response:
        if (blocked := await guard(request)) is not None:
            return blocked
        if provider.mode == "slow":
            await asyncio.sleep(provider.slow_seconds)
        form = await _form(request)
        if form is None:
            return _oauth_error("invalid_request", 413, description="request body too large")
        client_id, secret = _client_credentials(request, form)
        client = provider.clients.get(client_id or "")
        if client is None or secret is None or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            return _oauth_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type")
        record = provider.redeem_code(form.get("code", ""))
        if record is None or record["client_id"] != client.client_id:
            return _oauth_error("invalid_grant")
        if form.get("redirect_uri") != record["redirect_uri"]:
            return _oauth_error("invalid_grant", description="redirect_uri")
        challenge = record.get("code_challenge")
        verifier = form.get("code_verifier")
        if challenge and (not verifier or s256_code_challenge(verifier) != challenge):
            return _oauth_error("invalid_grant", description="PKCE")
        citizen = provider.citizen(record["personal_id"])
        assert citizen is not None
        body: dict[str, Any] = {
            "access_token": provider.issue_access_token(record),
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": record.get("scope", "openid"),
            "id_token": id_token(provider.mode, provider.key, provider.id_token_claims(record, citizen)),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def userinfo(request: Request) -> Response:
        if (blocked := await guard(request)) is not None:
            return blocked
        header = request.headers.get("authorization", "")
        record = provider.access_token_record(header[7:]) if header.lower().startswith("bearer ") else None
        citizen = provider.citizen(record["personal_id"]) if record else None
        if record is None or citizen is None:
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse(provider.userinfo(record, citizen))

    async def jwks(request: Request) -> Response:
        return await guard(request) or JSONResponse(provider.jwks())

    async def logout(request: Request) -> Response:
        """RP-Initiated Logout 1.0 §2: GET (parameters in the query) or POST (in the form)."""
        params = dict(request.query_params)
        if request.method == "POST":
            form = await _form(request)
            if form is None:
                return HTMLResponse(error_page("Yêu cầu quá lớn."), 413)
            params = {**params, **form}
        provider.end_session(request.method, params, sorted(request.query_params))
        target = params.get("post_logout_redirect_uri")
        client = provider.clients.get(params.get("client_id", ""))
        if target and client is not None and client.allows_redirect(target):
            return RedirectResponse(target, status_code=302 if request.method == "GET" else 303)
        return HTMLResponse("<!doctype html><p>Bạn đã đăng xuất. <em>(Signed out.)</em></p>")

    return Starlette(
        routes=[
            Route(shape.discovery_path, discovery),
            Route(shape.authorize_path, authorize, methods=["GET", "POST"]),
            Route(shape.token_path, token, methods=["POST"]),
            Route(shape.userinfo_path, userinfo, methods=["GET", "POST"]),
            Route(shape.jwks_path, jwks),
            Route(shape.logout_path, logout, methods=["GET", "POST"]),
        ]
    )

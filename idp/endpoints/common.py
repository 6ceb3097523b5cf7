"""Helpers shared by the endpoint routers: the provider, the sign-in flow, request parameters,
cookies, responses. Endpoint modules import no other endpoint module, only this one."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.errors import OAuthError, PageError
from idp.oidc.flow import AuthorizationFlow, Outcome
from idp.oidc.internal_clients import account_request
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from idp.specs.authlib_request import PlainOAuth2Request
from idp.web.context import audit_context, bounded_body, query_items, request_path
from idp.web.csrf import check_csrf
from idp.web.flow_responses import RequestBrowser, respond

MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def basic_client_id(authorization: str | None) -> str | None:
    """The client id of an HTTP Basic ``Authorization`` header (RFC 6749 §2.3.1: form-encoded),
    or None when it is absent or malformed (authlib then refuses the request with its error)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 (UnicodeDecodeError)
        return None
    client_id, colon, _ = decoded.partition(":")
    return unquote(client_id) if colon else None


def provider_of(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def flow_of(request: Request) -> AuthorizationFlow:
    """The sign-in flow of the request's provider (built once, by the compose step)."""
    return provider_of(request).flow


def browser_of(request: Request) -> RequestBrowser:
    """The browser in hand as the sign-in flow sees it (its binding key, its SSO session)."""
    return RequestBrowser(request, current_session)


def answer(request: Request, outcome: Outcome) -> Response:
    """The response for a step of the sign-in flow, with the cookie of a session it started."""
    provider = provider_of(request)
    response = respond(request, provider.issuer, outcome)
    if outcome.session is not None:
        set_session_cookie(response, provider, outcome.session)
    return response


def account_sign_in(request: Request, session: SsoSession | None, *, again: bool = False,
                    landing: str = "/account") -> Response:
    """The login page of a sign-in for the account pages, landing back at ``landing``; ``again``
    asks a signed-in person to sign in afresh (for a step that needs a recent sign-in)."""
    sign_in = account_request(provider_of(request).issuer, prompt=("login",) if again else (), landing=landing)
    return answer(request, flow_of(request).own_page(sign_in, browser_of(request), session, page="login"))


def session_cookie_name(provider: Provider) -> str:
    """``__Host-`` prefixed on https, so no relying party on the same site can set or shadow it."""
    return "__Host-vnidp_session" if provider.settings.secure_cookies else "vnidp_session"


def current_session(request: Request) -> SsoSession | None:
    provider = provider_of(request)
    return provider.sessions.get(request.cookies.get(session_cookie_name(provider)))


def set_session_cookie(response: Response, provider: Provider, session: SsoSession) -> None:
    response.set_cookie(session_cookie_name(provider), session.id, httponly=True, samesite="lax", path="/",
                        secure=provider.settings.secure_cookies, max_age=provider.settings.session_absolute_seconds)


def clear_session_cookie(response: Response, provider: Provider) -> None:
    response.delete_cookie(session_cookie_name(provider), path="/", secure=provider.settings.secure_cookies,
                           httponly=True, samesite="lax")


async def form_items(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body as (name, value) pairs; invalid_request for other content, 413 for a
    body over :data:`MAX_FORM_BYTES` (read no further)."""
    if request.method != "POST":
        return []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    body = await bounded_body(request, MAX_FORM_BYTES)
    if body is None:
        raise OAuthError("invalid_request", "request body too large", status_code=413)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not valid form data") from None


async def checked_form(request: Request) -> dict[str, str]:
    """A person's form post: urlencoded, with a valid CSRF token; a readable page otherwise."""
    try:
        form = dict(await form_items(request))
    except OAuthError:
        raise PageError("invalid_request") from None
    check_csrf(request, form)
    return form


def grouped(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in items:
        result.setdefault(key, []).append(value)
    return result


def oauth_request(request: Request, form: list[tuple[str, str]]) -> PlainOAuth2Request:
    """An authlib request addressed by the issuer URL (not the Host header)."""
    provider = provider_of(request)
    uri = provider.issuer + request_path(request)
    plain = PlainOAuth2Request(request.method, uri, request.headers, query_items(request), form)
    plain.extras["audit_context"] = audit_context(request)
    return plain


def authlib_response(result: tuple[int, Any, list[tuple[str, str]]]) -> Response:
    """authlib's (status, body, headers) as a JSON response that is never cached. The headers are
    given to the response whole (setting them one by one after it is built rescans them each time)."""
    status, body, headers = result
    content = body if isinstance(body, str | bytes) else json.dumps(body, separators=(",", ":"))
    fields = {name: value for name, value in headers if name.lower() not in _SET_HERE}
    fields.update(_JSON_NO_STORE)
    return Response(content, status_code=status, headers=fields)


_JSON_NO_STORE = {"Content-Type": "application/json", **NO_STORE}
_SET_HERE = frozenset(name.lower() for name in _JSON_NO_STORE)


def json_response(body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers={**NO_STORE, **(headers or {})})


def _authentication_methods(authorization: str, names: list[str]) -> list[str]:
    """The client authentication methods a request uses (RFC 6749 §2.3, RFC 7523 §2.2)."""
    methods = ["client_secret_basic"] if authorization[:6].lower() == "basic " else []
    if "client_secret" in names:
        methods.append("client_secret_post")
    if "client_assertion" in names or "client_assertion_type" in names:
        methods.append("client_assertion")
    return methods


async def client_request_form(request: Request) -> list[tuple[str, str]]:
    """The form of a request a client authenticates (``/token``, ``/revoke``, ``/introspect``,
    ``/par``), refused with ``invalid_request`` when a parameter is repeated, sent in the query, or
    the client uses more than one authentication method (RFC 6749 §2.3); ``invalid_client`` for
    malformed Basic credentials."""
    form = await form_items(request)
    names = [name for name, _ in form]
    repeated = {name for name in names if names.count(name) > 1}
    if repeated:
        raise OAuthError("invalid_request", f"parameter {sorted(repeated)[0]!r} given more than once")
    if query_items(request):
        raise OAuthError("invalid_request", "parameters must be sent in the body, not the query")
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic " and basic_client_id(authorization) is None:
        # authlib would fail on it (non-ASCII) or guess: refused here, the same for every endpoint
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", status_code=401)
    if len(_authentication_methods(authorization, names)) > 1:  # RFC 6749 §2.3: MUST NOT use more than one
        raise OAuthError("invalid_request", "the client authenticated with more than one method")
    return form

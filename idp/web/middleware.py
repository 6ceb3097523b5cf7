"""``install(app, settings)``: the HTTP layer every response goes through.

- security headers on every response (see :mod:`idp.web.headers`), a default CSP when the
  response set none, ``X-Request-ID``;
- the CSRF cookie made while answering, for responses not built by ``render_page``;
- errors: :class:`PageError` -> error page; :class:`OAuthError` -> JSON per RFC 6749 §5.2
  (``WWW-Authenticate`` on 401, ``no-store``); any other exception -> ``error.html`` 500 for pages,
  ``{"error": "server_error"}`` for API routes; never a stack trace; PostgreSQL or Redis unable to
  answer -> 503 ``temporarily_unavailable`` (:mod:`idp.web.unavailable`). Request validation failures ->
  ``invalid_request``; HTTP 404/405 on pages -> an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.errors import OAuthError, PageError
from idp.settings import Settings
from idp.ui.render import error_page
from idp.web.context import REQUEST_ID_HEADER, bind_request_id, new_request_id
from idp.web.csrf import pending_cookie
from idp.web.headers import content_security_policy, security_headers
from idp.web.unavailable import RETRY_AFTER_SECONDS, is_backend_unavailable

log = logging.getLogger("idp.web")
_REQUEST_ID_RAW = REQUEST_ID_HEADER.encode("latin-1")

#: Paths answered in JSON (machine-facing endpoints); every other path is a page for people.
API_PATHS: tuple[str, ...] = (
    "/token", "/userinfo", "/introspect", "/revoke", "/jwks", "/.well-known/", "/par", "/register",
    "/healthz", "/readyz", "/api/", "/backchannel", "/device_authorization", "/admin/",
)


def install(app: FastAPI, settings: Settings, *, api_paths: Iterable[str] = API_PATHS) -> None:
    """Put the security layer around ``app`` and add the error handlers (call once, in create_app)."""
    prefix = urlsplit(settings.issuer).path.rstrip("/")
    app.state.api_paths = tuple(prefix + p for p in api_paths) + tuple(api_paths)
    wrap_stack(app, lambda inner: SecurityMiddleware(inner, settings=settings))
    app.add_exception_handler(Exception, _unexpected_error)  # the framework's last resort answers with ours
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def wrap_stack(app: Starlette, layer: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put ``layer`` around the app's whole middleware stack, outside the framework's own error
    middleware (which ``add_middleware`` cannot reach); a later call wraps further out. Requests a
    layer answers itself (the protocol endpoints, the public documents) skip the framework."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: layer(build())  # type: ignore[method-assign]


def is_api_request(request: Request) -> bool:
    """Whether ``request`` goes to a machine-facing endpoint (errors in JSON, not as a page)."""
    paths: tuple[str, ...] = getattr(request.app.state, "api_paths", API_PATHS)
    path = request.url.path
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in paths)


def oauth_error_response(request: Request, exc: OAuthError) -> JSONResponse:
    """RFC 6749 §5.2 error body; 401 always carries ``WWW-Authenticate`` (Bearer, RFC 6750 §3,
    when the client sent a bearer token; else Basic)."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    if exc.status_code == 401 and not any(k.lower() == "www-authenticate" for k in headers):
        if request.headers.get("authorization", "").lower().startswith(("bearer ", "dpop ")):
            headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
        else:
            headers["WWW-Authenticate"] = 'Basic realm="idp", charset="UTF-8"'
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """Any other exception: the framework sends this, then re-raises it to SecurityMiddleware,
    which logs it with the request id."""
    return server_error_response(request, exc)


def page_error_response(request: Request, exc: PageError) -> Response:
    """The page a person sees for ``exc`` (Vietnamese first, the message its id names)."""
    return error_page(request, exc.message_id, status_code=exc.status_code, detail=exc.detail)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return page_error_response(request, exc)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return oauth_error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if is_api_request(request):
        return await http_exception_handler(request, exc)
    message_id = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    if exc.status_code >= 500:
        message_id = "server_error"
    response = error_page(request, message_id, status_code=exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    if is_api_request(request):
        body = {"error": "invalid_request", "error_description": "malformed or missing parameter"}
        return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})
    return error_page(request, "invalid_request", status_code=400)


def server_error_response(request: Request, error: BaseException | None = None) -> Response:
    """The answer to an unexpected failure: no detail, only the request id on the page. A backend
    that cannot answer is 503 ``temporarily_unavailable`` with ``Retry-After``, not a 500."""
    if error is not None and is_backend_unavailable(error):
        retry = {"Cache-Control": "no-store", "Retry-After": str(RETRY_AFTER_SECONDS)}
        if is_api_request(request):
            body = {"error": "temporarily_unavailable", "error_description": "try again in a few seconds"}
            return JSONResponse(body, status_code=503, headers=retry)
        page = error_page(request, "temporarily_unavailable", status_code=503)
        page.headers.update(retry)
        return page
    if is_api_request(request):
        return JSONResponse({"error": "server_error"}, status_code=500, headers={"Cache-Control": "no-store"})
    try:
        return error_page(request, "server_error", status_code=500)
    except Exception:  # the page itself failed: fall back to plain text
        log.exception("rendering the error page failed")
        return Response("Lỗi máy chủ / Server error", status_code=500, media_type="text/plain; charset=utf-8")


class SecurityMiddleware:
    """Pure ASGI middleware: headers on every response, request id, last-resort error page."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.headers = security_headers(https=settings.secure_cookies)
        self.default_csp = content_security_policy().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == _REQUEST_ID_RAW), None)
        request_id = new_request_id(incoming.decode("latin-1") if incoming else None)
        bind_request_id(scope, request_id)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self._decorate(scope, message, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if is_backend_unavailable(exc):
                log.warning("backend unavailable in %s %s (request %s): %s", scope.get("method"), scope.get("path"),
                            request_id, type(exc).__name__)
            else:
                log.exception("unhandled error in %s %s (request %s)", scope.get("method"), scope.get("path"),
                              request_id)
            if started:  # answered already (the framework's error handler, or a broken stream)
                return
            request = Request(scope, receive)
            await server_error_response(request, exc)(scope, receive, send_with_headers)

    def _decorate(self, scope: Scope, message: Message, request_id: str) -> None:
        raw: list[tuple[bytes, bytes]] = list(message.get("headers") or ())
        present = {name.lower() for name, _ in raw}
        raw += [(name, value) for name, value in self.headers if name not in present]
        if b"content-security-policy" not in present:
            raw.append((b"content-security-policy", self.default_csp))
        if b"x-request-id" in present:
            raw = [(name, value) for name, value in raw if name.lower() != b"x-request-id"]
        raw.append((b"x-request-id", request_id.encode("latin-1")))
        cookie = pending_cookie(scope=scope)
        if cookie:
            raw.append((b"set-cookie", cookie.encode("latin-1")))
        message["headers"] = raw

"""A direct route for the machine-facing protocol endpoints relying parties call most.

``/token``, ``/introspect``, ``/revoke`` and ``/userinfo`` are answered here, before the
framework's router, exception middleware and dependency machinery, which cost several times the
endpoint's own work at token-endpoint rates (bench/PROFILE.md). The handlers are the endpoint
modules' own ``async (Request) -> Response`` functions; this layer gives them what the framework
would: a ``Request`` and :class:`~idp.errors.OAuthError` turned into its RFC 6749 §5.2 answer.
It wraps the framework's whole stack (:func:`idp.web.middleware.wrap_stack`).
Other methods and paths go on to the application unchanged (where a wrong method gets its 405).

It sits inside :class:`~idp.web.middleware.SecurityMiddleware`, so every answer still carries the
security headers and the request id, and any other failure becomes ``{"error": "server_error"}``
there (logged, never shown).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.errors import OAuthError
from idp.web.middleware import oauth_error_response

Handler = Callable[[Request], Awaitable[Response]]


class ProtocolEndpoints:
    """Pure ASGI: ``routes`` maps (method, path) to a handler."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Handler]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except OAuthError as exc:
            response = oauth_error_response(request, exc)
        await response(scope, receive, send)

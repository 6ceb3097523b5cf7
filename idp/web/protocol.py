"""A direct route for the endpoints called most: the machine-facing protocol endpoints and the
pages of a sign-in.

``/token``, ``/introspect``, ``/revoke``, ``/userinfo``, ``/authorize`` and the sign-in form
(``/interaction/{interaction_id}/login``) are answered here, before the framework's router,
exception middleware and dependency machinery, which cost several times the endpoint's own work at
token-endpoint rates and 4-6 % of a whole sign-in (bench/PROFILE.md). An endpoint module declares
such a route on its one router (:class:`DirectRouter`, ``@router.direct(path, methods)``), which
also keeps it in the framework's table (so another method still gets its 405 there, and the path is
listed among those served); the compose step (idp.app) hands every router's :attr:`DirectRouter.direct_routes`
to :class:`ProtocolEndpoints`. The handlers are the endpoint modules' own
``async (Request) -> Response`` functions; this layer gives them what the framework would: a
``Request`` (with ``path_params`` for a route with one ``{name}`` segment),
:class:`~idp.errors.OAuthError` turned into its RFC 6749 §5.2 answer and
:class:`~idp.errors.PageError` into its page. It wraps the framework's whole stack
(:func:`idp.web.middleware.wrap_stack`). Other methods and paths go on to the application unchanged
(where a wrong method gets its 405).

It sits inside :class:`~idp.web.middleware.SecurityMiddleware`, so every answer still carries the
security headers and the request id, and any other failure becomes ``{"error": "server_error"}``
or the server-error page there (logged, never shown).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.errors import OAuthError, PageError
from idp.web.middleware import oauth_error_response, page_error_response

Handler = Callable[[Request], Awaitable[Response]]


class DirectRouter(APIRouter):
    """An endpoint module's router, some of whose routes are direct (answered by
    :class:`ProtocolEndpoints` before the framework)."""

    def __init__(self) -> None:
        super().__init__()
        self.direct_routes: dict[tuple[str, str], Handler] = {}

    def direct(self, path: str, methods: Sequence[str]) -> Callable[[Handler], Handler]:
        """Declare ``handler`` the direct route of ``methods`` at ``path`` (at most one ``{name}``
        segment, read from ``request.path_params``)."""
        if "{" in path:
            _Template(path)  # refuses a path the direct layer cannot match

        def declare(handler: Handler) -> Handler:
            self.add_api_route(path, handler, methods=list(methods), include_in_schema=False)
            for method in methods:
                self.direct_routes[(method, path)] = handler
            return handler

        return declare


def direct_routes(routers: Iterable[APIRouter]) -> dict[tuple[str, str], Handler]:
    """Every direct route the ``routers`` declare."""
    routes: dict[tuple[str, str], Handler] = {}
    for router in routers:
        routes.update(getattr(router, "direct_routes", {}))
    return routes


class _Template:
    """A path with one ``{name}`` segment: ``/interaction/{interaction_id}/login``."""

    def __init__(self, template: str) -> None:
        prefix, rest = template.split("{", 1)
        self.name, self.suffix = rest.split("}", 1)
        self.prefix = prefix
        if not prefix.endswith("/") or "{" in self.suffix or (self.suffix and not self.suffix.startswith("/")):
            raise ValueError(f"a route takes at most one whole {{name}} segment: {template!r}")

    def value(self, path: str) -> str | None:
        """The segment's value when ``path`` matches (one non-empty segment, as the framework's
        router reads ``{name}``), else None."""
        if not (path.startswith(self.prefix) and path.endswith(self.suffix)):
            return None
        value = path[len(self.prefix):len(path) - len(self.suffix)]
        return value if value and "/" not in value else None


class ProtocolEndpoints:
    """Pure ASGI: ``routes`` maps (method, path) to a handler; a path may hold one ``{name}``
    segment, given to the handler in ``request.path_params``."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Handler]) -> None:
        self.app = app
        self.routes = {key: handler for key, handler in routes.items() if "{" not in key[1]}
        self.templated = [(method, _Template(path), handler) for (method, path), handler in routes.items()
                          if "{" in path]

    def _match(self, method: str, path: str, scope: Scope) -> Handler | None:
        handler = self.routes.get((method, path))
        if handler is not None:
            return handler
        for route_method, template, candidate in self.templated:
            if route_method == method and (value := template.value(path)) is not None:
                scope["path_params"] = {template.name: value}
                return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._match(scope["method"], scope["path"], scope) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except OAuthError as exc:
            response = oauth_error_response(request, exc)
        except PageError as exc:
            response = page_error_response(request, exc)
        await response(scope, receive, send)

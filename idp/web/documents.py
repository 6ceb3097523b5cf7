"""A fast path for the public documents relying parties fetch most: discovery metadata and the JWKS.

Both are ready bytes (discovery computed once, the JWKS snapshot rebuilt by the key ring on
rotation), so a GET is answered here, before the framework's routing and middleware stack, with
the same security headers every response carries. Anything else (other methods, conditional
requests, other paths) goes on to the application unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from idp.settings import Settings
from idp.web.context import new_request_id
from idp.web.headers import content_security_policy, security_headers

Document = tuple[bytes, dict[str, str]]


class PublicDocuments:
    """Pure ASGI: ``documents`` maps a path to a function returning (body, headers)."""

    def __init__(self, app: ASGIApp, settings: Settings, documents: dict[str, Callable[[], Document]]) -> None:
        self.app = app
        self.documents = documents
        self.common = [*security_headers(https=settings.secure_cookies),
                       (b"content-security-policy", content_security_policy().encode("latin-1"))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        produce = self.documents.get(scope.get("path", "")) if scope["type"] == "http" else None
        if produce is None or scope["method"] not in ("GET", "HEAD") or _conditional(scope):
            await self.app(scope, receive, send)
            return
        body, headers = produce()
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw += self.common
        raw += [(b"content-length", str(len(body)).encode()), (b"x-request-id", new_request_id().encode())]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _conditional(scope: Scope) -> bool:
    return any(name == b"if-none-match" for name, _ in scope.get("headers", ()))

"""CSRF protection of every form: a cookie-bound double-submit token.

The browser holds a random secret in a cookie (``__Host-idp_csrf`` when the issuer is https, so a
sibling sub-domain cannot plant one; ``idp_csrf`` on loopback http), HttpOnly, SameSite=Lax. Each
form carries the secret masked with a fresh one-time pad (so the page never repeats the same bytes,
against compression side channels). A POST passes when the unmasked form token equals the cookie
and, when the browser says where the request came from (``Sec-Fetch-Site``, else a non-null
``Origin``), it came from this very origin (a sibling sub-domain is refused too).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from idp.errors import PageError
from idp.web.context import settings_of

FIELD_NAME = "csrf_token"
_SECRET_BYTES = 32
_PENDING = "idp.csrf_pending_cookie"
_TOKEN = "idp.csrf_token"  # noqa: S105 - a state key, not a secret


def cookie_name(request: Request) -> str:
    """``__Host-idp_csrf`` when cookies are Secure (https issuer), else ``idp_csrf``."""
    return "__Host-idp_csrf" if settings_of(request).secure_cookies else "idp_csrf"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def _cookie_secret(request: Request) -> bytes | None:
    raw = request.cookies.get(cookie_name(request))
    secret = _unb64(raw) if raw else None
    return secret if secret is not None and len(secret) == _SECRET_BYTES else None


def csrf_token(request: Request) -> str:
    """The token to put in a form's hidden ``csrf_token`` field. When the browser has no CSRF
    cookie yet, a new secret is made and its ``Set-Cookie`` is added to the response (by
    ``render_page`` or, for any other response, by the middleware)."""
    state = request.scope.setdefault("state", {})
    if _TOKEN in state:
        return str(state[_TOKEN])
    secret = _cookie_secret(request)
    if secret is None:
        secret = secrets.token_bytes(_SECRET_BYTES)
        state[_PENDING] = secret
    pad = secrets.token_bytes(_SECRET_BYTES)
    token = _b64(pad + bytes(a ^ b for a, b in zip(pad, secret, strict=True)))
    state[_TOKEN] = token
    return token


def pending_cookie(request: Request | None = None, *, scope: MutableMapping[str, Any] | None = None) -> str | None:
    """The ``Set-Cookie`` value for a secret made during this request, once (then forgotten)."""
    if scope is None:
        if request is None:
            return None
        scope = request.scope
    secret = scope.get("state", {}).pop(_PENDING, None)
    if secret is None:
        return None
    probe = request or Request(scope)
    secure = settings_of(probe).secure_cookies
    parts = [f"{cookie_name(probe)}={_b64(secret)}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _same_origin(request: Request) -> bool:
    """False when the browser says the request came from elsewhere. ``Sec-Fetch-Site`` is trusted
    first; ``Origin`` is ``null`` for our own forms because pages use ``Referrer-Policy: no-referrer``,
    so only a real origin is compared."""
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    issuer = urlsplit(settings_of(request).issuer)
    allowed = {f"{issuer.scheme}://{issuer.netloc}".lower(), f"{request.url.scheme}://{request.url.netloc}".lower()}
    return origin.lower() in allowed


def same_origin(request: Request) -> bool:
    """Whether the browser says this request came from the provider's own origin (a request
    without ``Sec-Fetch-Site`` or a real ``Origin`` is not from another site's page)."""
    return _same_origin(request)


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse a form post without the token of this browser's CSRF cookie.

    Raises ``PageError("csrf_failed", status_code=400)``; never says which part failed."""
    failed = PageError("csrf_failed", status_code=400)
    secret = _cookie_secret(request)
    submitted = form.get(FIELD_NAME)
    if secret is None or not isinstance(submitted, str) or not _same_origin(request):
        raise failed
    raw = _unb64(submitted)
    if raw is None or len(raw) != 2 * _SECRET_BYTES:
        raise failed
    pad, masked = raw[:_SECRET_BYTES], raw[_SECRET_BYTES:]
    unmasked = bytes(a ^ b for a, b in zip(pad, masked, strict=True))
    if not hmac.compare_digest(unmasked, secret):
        raise failed

"""Binding a pending sign-in to the browser that started it.

The browser holds a random secret in a cookie (``__Host-idp_binding`` when the issuer is https, so
a sibling sub-domain cannot plant or shadow it; ``idp_binding`` on a loopback http issuer, which
cannot use the prefix), HttpOnly, SameSite=Lax, for the browser's session. What a sign-in keeps on
the server (an interaction, an upstream ``state``) stores only the secret's SHA-256
(:func:`browser_key`), and every later step compares it with the cookie of the request in hand
(:func:`from_this_browser`): a link to a pending step handed to another browser leads nowhere.

SameSite=Lax still sends the cookie on the top-level GET by which an upstream returns to
``/callback/{adapter}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from idp.web.context import settings_of

_SECRET_BYTES = 32
_PENDING = "idp.binding_pending_secret"


def cookie_name(request: Request) -> str:
    """``__Host-idp_binding`` when cookies are Secure (https issuer), else ``idp_binding``."""
    return "__Host-idp_binding" if settings_of(request).secure_cookies else "idp_binding"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _cookie_secret(request: Request) -> str | None:
    raw = request.cookies.get(cookie_name(request))
    if not raw or len(raw) != 43:  # 32 bytes, base64url without padding
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=")
    except ValueError:
        return None
    return raw if len(decoded) == _SECRET_BYTES else None


def browser_key(request: Request) -> str:
    """The key to store with a pending sign-in: the SHA-256 (hex) of this browser's secret. A
    browser without one gets a new secret now; :func:`attach` adds its cookie to the response."""
    state = request.scope.setdefault("state", {})
    secret = state.get(_PENDING) or _cookie_secret(request)
    if secret is None:
        secret = base64.urlsafe_b64encode(secrets.token_bytes(_SECRET_BYTES)).rstrip(b"=").decode("ascii")
        state[_PENDING] = secret
    return _digest(secret)


def from_this_browser(request: Request, key: str | None) -> bool:
    """Whether the request comes from the browser whose :func:`browser_key` is ``key`` (False for
    no key: a pending step that was never bound belongs to nobody)."""
    if not key:
        return False
    secret = request.scope.get("state", {}).get(_PENDING) or _cookie_secret(request)
    return secret is not None and hmac.compare_digest(_digest(secret), key)


def attach(request: Request, response: Response) -> Response:
    """``response`` with the cookie of a secret :func:`browser_key` made in this request (if any)."""
    secret = request.scope.get("state", {}).pop(_PENDING, None)
    if secret is not None:
        secure = settings_of(request).secure_cookies
        response.set_cookie(cookie_name(request), secret, httponly=True, samesite="lax", path="/", secure=secure)
    return response

"""Security headers of every response, and the Content-Security-Policy builder.

The policy allows nothing by default (``default-src 'none'``): our own stylesheet, images from us
or ``data:`` (the TOTP QR code), forms posted to us, never framed, no ``<base>``. A page whose form
submission ends at a relying party (``form_post``, or a POST answered by a redirect to the client:
browsers apply ``form-action`` to those redirects too) adds the client's origin to ``form-action``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]+")


def form_target_source(uri: str) -> str | None:
    """The CSP source expression that allows posting a form to ``uri``: its origin for http(s)
    (``https://rp.example:8443``), its scheme for a native app's private-use scheme
    (``com.example.app:``). None for anything that could not be a redirect URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return None
    if scheme in ("http", "https"):
        if not parts.netloc or "@" in parts.netloc or not _HOST.fullmatch(parts.netloc):
            return None
        return f"{scheme}://{parts.netloc.lower()}"
    if scheme in ("javascript", "data", "blob", "filesystem", "about", "vbscript"):
        return None
    return f"{scheme}:"


def content_security_policy(*, form_targets: Iterable[str] = (), scripts: bool = False) -> str:
    """The policy for one response; ``form_targets`` are URIs forms on the page may end at."""
    sources = ["'self'"]
    for uri in form_targets:
        source = form_target_source(uri)
        if source and source not in sources:
            sources.append(source)
    directives = [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"form-action {' '.join(sources)}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
    if scripts:
        directives.append("script-src 'self'")
    return "; ".join(directives)


def security_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    """Headers every response carries (the CSP is added separately when a page set none).
    ``Cross-Origin-Opener-Policy: same-origin``: a page of ours opened from another origin's window
    (or opening one) gets no handle on it, nor the other way round (no cross-window scripting or
    navigation of a sign-in page by the opener)."""
    headers = [
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers

"""Two sample relying parties served under ``/demo/<client_id>`` (demo mode only).

Each is a real OIDC client of this provider over HTTP, under the strict profile its restricted
scopes need: the authorization request (code + PKCE S256, state and nonce) pushed to /par, the PAR
and token requests authenticated with private_key_jwt (ES256, joserfc), the ID token's signature
checked against the published JWKS, then the claims shown on a page marked as a demo.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.responses import HTMLResponse, RedirectResponse, Response

from idp.demo.seed import DEMO_CLIENTS
from idp.endpoints.common import provider_of

router = APIRouter()
PENDING = "demo_rp"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BANNER = "Bản trình diễn — không dùng cho dịch vụ thật / Demo only — not a real service"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=vi><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<link rel=stylesheet href='/static/idp.css'>"
        f"<body><p class=demo-banner role=note><strong>{BANNER}</strong></p>"
        f"<main class=wrap><div class=card><h1>{html.escape(title)}</h1>{body}</div></main></body></html>",
        headers={"Cache-Control": "no-store"},
    )


def _client_auth(request: Request, client_id: str) -> dict[str, str]:
    """private_key_jwt form fields (RFC 7523 §2.2) signed with the key the demo seed made for ``client_id``."""
    provider = provider_of(request)
    key = ECKey.import_key(json.loads(getattr(provider, "demo_client_secrets", {})[client_id]))
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": provider.issuer, "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


@router.get("/demo")
def index() -> Response:
    links = "".join(f"<li><a href='/demo/{cid}'>{html.escape(name)}</a></li>" for cid, name in DEMO_CLIENTS.items())
    return _page("Các dịch vụ mẫu / Sample services", f"<ul>{links}</ul>")


@router.get("/demo/{client_id}")
def home(request: Request, client_id: str) -> Response:
    if client_id not in DEMO_CLIENTS:
        return _page("404", "")
    return _page(DEMO_CLIENTS[client_id],
                 f"<p><a href='/demo/{client_id}/login'>Đăng nhập / Sign in</a></p>"
                 "<p><a href='/demo'>Các dịch vụ mẫu / Sample services</a></p>")


@router.get("/demo/{client_id}/login")
def login(request: Request, client_id: str) -> Response:
    provider = provider_of(request)
    if client_id not in DEMO_CLIENTS:
        return _page("404", "")
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    provider.ephemeral.upsert(PENDING, state, {"nonce": nonce, "verifier": verifier, "client_id": client_id}, 600)
    params = {
        "response_type": "code", "client_id": client_id, "scope": "openid profile email vn_id vn_eid",
        "redirect_uri": f"{provider.issuer}/demo/{client_id}/callback", "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    with httpx.Client(timeout=10) as http:
        pushed = http.post(f"{provider.issuer}/par", data={**params, **_client_auth(request, client_id)})
    if pushed.status_code != 201:
        return _page("Lỗi / Error", f"<pre>{html.escape(pushed.text)}</pre>")
    query = urlencode({"client_id": client_id, "request_uri": pushed.json()["request_uri"]})
    return RedirectResponse(f"{provider.issuer}/authorize?{query}", status_code=302)


@router.get("/demo/{client_id}/callback")
def callback(request: Request, client_id: str) -> Response:
    provider = provider_of(request)
    pending = provider.ephemeral.consume(PENDING, request.query_params.get("state", ""))
    if pending is None or pending["client_id"] != client_id:
        return _page("Lỗi / Error", "<p>state không khớp / state mismatch</p>")
    if request.query_params.get("iss") != provider.issuer:
        return _page("Lỗi / Error", "<p>iss không khớp / iss mismatch</p>")
    if "error" in request.query_params:
        return _page("Lỗi / Error", f"<p>{html.escape(request.query_params['error'])}</p>")
    redirect_uri = f"{provider.issuer}/demo/{client_id}/callback"
    with httpx.Client(timeout=10) as http:
        token = http.post(f"{provider.issuer}/token", data={
            "grant_type": "authorization_code", "code": request.query_params.get("code", ""),
            "redirect_uri": redirect_uri, "code_verifier": pending["verifier"],
            **_client_auth(request, client_id)}).json()
        if "id_token" not in token:
            return _page("Lỗi / Error", f"<pre>{html.escape(json.dumps(token))}</pre>")
        keys = KeySet.import_key_set(http.get(f"{provider.issuer}/jwks").json())
        userinfo = http.get(f"{provider.issuer}/userinfo",
                            headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    claims = jwt.decode(token["id_token"], keys, algorithms=["ES256", "RS256", "PS256", "EdDSA"]).claims
    if claims.get("nonce") != pending["nonce"] or claims.get("aud") != client_id:
        return _page("Lỗi / Error", "<p>nonce/aud không khớp / mismatch</p>")
    logout = urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri":
                        f"{provider.issuer}/demo/{client_id}", "state": secrets.token_urlsafe(8)})
    body = (
        "<h2>ID token</h2><pre id=claims>" + html.escape(json.dumps(claims, ensure_ascii=False, indent=2)) + "</pre>"
        "<h2>UserInfo</h2><pre id=userinfo>" + html.escape(json.dumps(userinfo, ensure_ascii=False, indent=2))
        + "</pre>" + "".join(f"<p><a href='/demo/{other}/login'>{html.escape(name)}</a></p>"
                             for other, name in DEMO_CLIENTS.items() if other != client_id)
        + f"<p><a href='{provider.issuer}/logout?{html.escape(logout)}'>Đăng xuất / Sign out</a></p>"
    )
    return _page(DEMO_CLIENTS[client_id], body)

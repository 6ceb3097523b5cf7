"""A tiny relying party on loopback for the browser flows, and what those flows read from a page.

The browser goes to the provider's ``/authorize`` with the parameters of an
:class:`~tests.functional.browser_client.AuthorizationRun`; the provider sends it back to
``{rp}/{client_id}/cb``, a real page served here, and the test reads the code from the URL the
browser landed on and redeems it over HTTP as a relying party would.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jose import jwt as jose_jwt

from tests.browser.conftest import LiveServer
from tests.functional.browser_client import AuthorizationRun


def relying_party_app() -> FastAPI:
    """A page at ``/{client_id}/cb`` that shows what it received (no styles, no scripts)."""
    app = FastAPI()

    @app.get("/{client_id}/cb")
    def callback(request: Request, client_id: str) -> HTMLResponse:
        received = html.escape(json.dumps(dict(request.query_params), ensure_ascii=False))
        return HTMLResponse(f"<!doctype html><title>{html.escape(client_id)}</title><pre id=received>{received}</pre>")

    return app


class LoopbackRelyingParty:
    """The relying party's server; ``start()`` before registering clients (their redirect URIs)."""

    def __init__(self) -> None:
        self.server = LiveServer(relying_party_app())
        self.base = ""

    def start(self) -> str:
        self.base = self.server.start()
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def redirect_uri(self, client_id: str) -> str:
        return f"{self.base}/{client_id}/cb"

    def run(self, client_id: str, scope: str) -> AuthorizationRun:
        return AuthorizationRun(client_id, self.redirect_uri(client_id), scope=scope)


def authorize_url(issuer: str, run: AuthorizationRun) -> str:
    return f"{issuer}/authorize?{urlencode(run.params())}"


def landed_params(page: Any, run: AuthorizationRun) -> dict[str, str]:
    """Wait until the browser is back at the relying party; the query it brought."""
    page.wait_for_url(run.redirect_uri + "?**")
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def redeem(issuer: str, run: AuthorizationRun, code: str, secret: str | dict[str, str]) -> dict[str, Any]:
    """Exchange ``code`` at /token (``secret``: the client secret, or the form fields of its
    private_key_jwt authentication); return the verified ID token claims and the userinfo."""
    fields = secret if isinstance(secret, dict) else {}
    tokens = httpx.post(issuer + "/token", auth=None if fields else (run.client_id, str(secret)), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": run.redirect_uri,
        "code_verifier": run.verifier, **fields}).json()
    assert "id_token" in tokens, tokens
    jwks = httpx.get(issuer + "/jwks", timeout=10).json()
    claims = jose_jwt.decode(tokens["id_token"], jwks, algorithms=["ES256", "RS256"], audience=run.client_id,
                             issuer=issuer, access_token=tokens["access_token"])
    assert claims["nonce"] == run.nonce
    userinfo = httpx.get(issuer + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                         timeout=10).json()
    return {"id_token": claims, "userinfo": userinfo}


def record_csp_by_page(page: Any) -> list[tuple[str, str]]:
    """(page URL, message) of every CSP violation the tab reports from now on."""
    found: list[tuple[str, str]] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            found.append((str(message.location.get("url", "")), message.text))

    page.on("console", on_console)
    return found


def on_provider(errors: list[tuple[str, str]], issuer: str) -> list[tuple[str, str]]:
    """The violations reported by the provider's own pages (not a relying party's, not an upstream's)."""
    return [(url, text) for url, text in errors if url.startswith(issuer) and not url.startswith(issuer + "/demo")]

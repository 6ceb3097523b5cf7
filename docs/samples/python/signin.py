"""Sign a person in at the provincial provider from a Python service (authlib + joserfc).

The authorization code flow with PKCE (S256), the only flow the provider offers browsers:

    sign_in = ProvincialSignIn(issuer, client_id, client_secret, redirect_uri)
    url, pending = sign_in.start(scope="openid profile")   # keep `pending` in the person's session
    ... redirect the browser to `url`; the provider sends it back to redirect_uri ...
    claims = sign_in.finish(callback_url, pending)          # the verified ID token's claims + userinfo

Run ``python signin.py`` (with IDP_ISSUER, CLIENT_ID, CLIENT_SECRET in the environment and
http://127.0.0.1:8765/callback registered as the client's redirect URI) to sign in once from a
terminal: it prints the URL to open and waits for the provider's answer on that port.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet


@dataclass(frozen=True)
class Pending:
    """What the service keeps between the redirect and the callback (in the person's session)."""

    state: str
    nonce: str
    code_verifier: str


class ProvincialSignIn:
    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.issuer = issuer.rstrip("/")
        # Discovery: every endpoint and the signing algorithms come from here, never hard-coded.
        self.metadata = httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        if self.metadata["issuer"] != self.issuer:
            raise ValueError("the discovery document names another issuer")
        self.client = OAuth2Client(client_id, client_secret, redirect_uri=redirect_uri,
                                   code_challenge_method="S256",
                                   token_endpoint_auth_method="client_secret_basic")  # noqa: S106 - a name

    def start(self, scope: str = "openid profile", **params: str) -> tuple[str, Pending]:
        """The URL to send the browser to (``acr_values``, ``ui_locales``... go in ``params``)."""
        pending = Pending(secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48))
        url, _ = self.client.create_authorization_url(
            self.metadata["authorization_endpoint"], scope=scope, state=pending.state, nonce=pending.nonce,
            code_verifier=pending.code_verifier, **params)
        return url, pending

    def finish(self, callback_url: str, pending: Pending) -> dict[str, Any]:
        """Check the callback, redeem the code, verify the ID token; its claims plus userinfo's."""
        answer = {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}
        if answer.get("state") != pending.state:
            raise ValueError("state mismatch: not the answer to our request")
        if answer.get("iss") != self.issuer:  # RFC 9207: the answer comes from our provider
            raise ValueError("the answer names another issuer")
        if "error" in answer:  # e.g. access_denied (the person declined), login_required (prompt=none)
            raise PermissionError(answer["error"])
        token = self.client.fetch_token(self.metadata["token_endpoint"], code=answer["code"],
                                        code_verifier=pending.code_verifier)
        claims = self.verify_id_token(token["id_token"], pending.nonce)
        userinfo = self.client.get(self.metadata["userinfo_endpoint"]).json()
        if userinfo.get("sub") != claims["sub"]:
            raise ValueError("userinfo is about another person")
        return {**userinfo, **claims}

    def close(self) -> None:
        self.client.close()

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        keys = KeySet.import_key_set(httpx.get(self.metadata["jwks_uri"], timeout=10).json())
        token = jwt.decode(id_token, keys, algorithms=self.metadata["id_token_signing_alg_values_supported"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True}, sub={"essential": True},
        ).validate(token.claims)
        return dict(token.claims)


def main() -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    sign_in = ProvincialSignIn(os.environ["IDP_ISSUER"], os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"],
                               "http://127.0.0.1:8765/callback")
    url, pending = sign_in.start()
    print("Mở / open:", url)
    answers: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            answers.append("http://127.0.0.1:8765" + self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write("Đã nhận / received. ".encode())

    with HTTPServer(("127.0.0.1", 8765), Callback) as server:
        while not answers:
            server.handle_request()
    started = time.monotonic()
    print(sign_in.finish(answers[0], pending), f"({time.monotonic() - started:.2f} s)")
    sign_in.close()


if __name__ == "__main__":
    main()

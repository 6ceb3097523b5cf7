"""A sandbox upstream refuses a code_verifier outside ASCII as any wrong verifier: ``invalid_grant``
(RFC 7636 §4.6), not a server error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from idp.sandbox import CITIZENS, SandboxClient, SandboxProvider
from idp.sandbox.routes import build_app
from idp.sandbox.shapes import vneid_shape
from idp.specs.rfc7636_pkce import s256_code_challenge

CALLBACK = "http://127.0.0.1:8000/login/callback"


def test_a_non_ascii_verifier_is_invalid_grant() -> None:
    provider = SandboxProvider(vneid_shape(), "http://testserver",
                               {"rp": SandboxClient("rp", "rp-secret", (CALLBACK,))})
    with TestClient(build_app(provider), follow_redirects=False, raise_server_exceptions=False) as client:
        answer = client.post(provider.shape.authorize_path, data={
            "client_id": "rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid", "state": "st",
            "nonce": "no", "code_challenge": s256_code_challenge("v" * 50), "code_challenge_method": "S256",
            "citizen": CITIZENS[0].personal_id, "decision": "allow"})
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        answer = client.post(provider.shape.token_path, auth=("rp", "rp-secret"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": "ví" * 25})
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "PKCE"}

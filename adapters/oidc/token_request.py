"""The token request (RFC 6749 §4.1.3) through authlib's httpx client, with the configured
client authentication: client_secret_basic, client_secret_post (§2.3.1) or private_key_jwt
(RFC 7523 §2.2, OIDC Core §9: a 60-second assertion with a fresh ``jti``)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, RSAKey

from adapters.base import UpstreamRejected
from adapters.oidc.config import OidcConfig
from adapters.oidc.http import upstream_errors

ASSERTION_LIFETIME = 60


def _private_key(config: OidcConfig) -> RSAKey | ECKey:
    assert config.private_jwk is not None
    data = json.loads(config.private_jwk.get_secret_value())
    return RSAKey.import_key(data) if data["kty"] == "RSA" else ECKey.import_key(data)


def oauth_client(config: OidcConfig, callback_url: str, token_endpoint: str) -> OAuth2Client:
    """An authlib client for one token request (closed by the caller)."""
    common: dict[str, Any] = {
        "redirect_uri": callback_url,
        "timeout": httpx2.Timeout(config.timeout_seconds),
        "trust_env": False,
        "follow_redirects": False,
    }
    if config.token_endpoint_auth_method == "private_key_jwt":  # noqa: S105 - a method name
        key = _private_key(config)
        client = OAuth2Client(
            config.client_id, key, token_endpoint_auth_method="private_key_jwt", **common  # noqa: S106
        )
        headers = {"kid": key.kid} if key.get("kid") else None
        claims = {"exp": int(time.time()) + ASSERTION_LIFETIME}
        client.register_client_auth_method(
            PrivateKeyJWT(token_endpoint, claims=claims, headers=headers, alg=config.private_key_alg)
        )
        return client
    assert config.client_secret is not None
    return OAuth2Client(
        config.client_id,
        config.client_secret.get_secret_value(),
        token_endpoint_auth_method=config.token_endpoint_auth_method,
        **common,
    )


def exchange_code(
    config: OidcConfig, token_endpoint: str, callback_url: str, code: str, code_verifier: str | None
) -> dict[str, Any]:
    """The token response for an authorization code; adapter errors on every failure."""
    extra = {"code_verifier": code_verifier} if code_verifier else {}
    client = oauth_client(config, callback_url, token_endpoint)
    try:
        with upstream_errors("token"):
            token = client.fetch_token(token_endpoint, grant_type="authorization_code", code=code, **extra)
    except OAuthError as exc:
        raise UpstreamRejected(
            f"token: the upstream refused the code ({exc.error})", reason="token_request_refused"
        ) from None
    except ValueError:
        raise UpstreamRejected("token: the response is not a token", reason="malformed_response") from None
    finally:
        client.close()
    if not isinstance(token, dict):
        raise UpstreamRejected("token: the response is not a token", reason="malformed_response")
    return dict(token)

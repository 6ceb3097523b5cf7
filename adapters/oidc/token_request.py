"""The token request (RFC 6749 §4.1.3) with the configured client authentication:
client_secret_basic, client_secret_post (§2.3.1) or private_key_jwt (RFC 7523 §2.2, OIDC Core §9:
a 60-second assertion with a fresh ``jti``, signed with joserfc).

Answers are read as RFC 6749 §5.1-5.2 say: a JSON object without ``error`` is the token; one with
``error`` is a refusal (:class:`UpstreamRejected`, ``token_request_refused``); a 5xx answer, or a
4xx one that is not a JSON object, is the status's adapter error (see :mod:`adapters.oidc.http`).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx2
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from adapters.base import UpstreamRejected
from adapters.oidc.config import OidcConfig
from adapters.oidc.http import raise_for_status, upstream_errors

ASSERTION_LIFETIME = 60
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HEADERS = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}


def _private_key(config: OidcConfig) -> RSAKey | ECKey:
    assert config.private_jwk is not None
    data = json.loads(config.private_jwk.get_secret_value())
    return RSAKey.import_key(data) if data["kty"] == "RSA" else ECKey.import_key(data)


def client_assertion(config: OidcConfig, token_endpoint: str) -> str:
    """A private_key_jwt assertion (RFC 7523 §3): ``iss`` and ``sub`` the client id, ``aud`` the
    token endpoint, a 60-second lifetime and a fresh ``jti``."""
    key = _private_key(config)
    header: dict[str, Any] = {"alg": config.private_key_alg}
    if key.get("kid"):
        header["kid"] = key.kid
    now = int(time.time())
    claims = {"iss": config.client_id, "aud": token_endpoint, "sub": config.client_id, "iat": now,
              "exp": now + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(27)}
    return jwt.encode(header, claims, key, algorithms=[config.private_key_alg])


def authenticated(config: OidcConfig, token_endpoint: str,
                  form: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The form and headers of a token request with the configured client authentication."""
    method = config.token_endpoint_auth_method
    if method == "private_key_jwt":  # noqa: S105 - a method name
        return [*form, ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", client_assertion(config, token_endpoint))], dict(HEADERS)
    assert config.client_secret is not None
    secret = config.client_secret.get_secret_value()
    if method == "client_secret_post":  # noqa: S105 - a method name
        return [*form, ("client_id", config.client_id), ("client_secret", secret)], dict(HEADERS)
    basic = base64.b64encode(f"{config.client_id}:{secret}".encode("latin1")).decode()
    return form, {**HEADERS, "Authorization": f"Basic {basic}"}


def exchange_code(config: OidcConfig, http: httpx2.Client, token_endpoint: str, callback_url: str, code: str,
                  code_verifier: str | None) -> dict[str, Any]:
    """The token response for an authorization code; adapter errors on every failure."""
    form = [("grant_type", "authorization_code"), ("redirect_uri", callback_url), ("code", code)]
    if code_verifier:
        form.append(("code_verifier", code_verifier))
    form, headers = authenticated(config, token_endpoint, form)
    with upstream_errors("token"):
        response = http.post(token_endpoint, data=dict(form), headers=headers)
    if response.status_code >= 500:
        raise_for_status(response, "token")
    try:
        token = response.json()
    except ValueError:
        token = None
    if not isinstance(token, dict):
        raise_for_status(response, "token")
        raise UpstreamRejected("token: the response is not a token", reason="malformed_response")
    if "error" in token:
        raise UpstreamRejected(
            f"token: the upstream refused the code ({token['error']})", reason="token_request_refused"
        )
    return token

"""Logout tokens of OpenID Connect Back-Channel Logout 1.0 (§2.4-2.6).

Choices:
- ``typ: logout+jwt`` (§2.4, the explicit type recommended by RFC 8725 §3.11), signed by the key
  ring with the client's ``id_token_signed_response_alg`` (the signer it verifies ID tokens with);
- claims: ``iss``, ``aud`` (the client_id), ``iat``, ``exp`` (two minutes), ``jti``, the ``events``
  member ``{"http://schemas.openid.net/event/backchannel-logout": {}}``; ``sub`` always (the
  client's own pairwise or public identifier) and ``sid`` whenever the session has one, which covers
  ``backchannel_logout_session_required`` (§2.2); never ``nonce`` (§2.4);
- delivery is a form POST of ``logout_token`` (§2.5); any 2xx is success (§2.8).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from idp.storage.models import Client
from keys.jwt import encode_jwt
from keys.ring import KeyRing

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL_SECONDS = 120


def logout_token_claims(issuer: str, client: Client, *, sub: str | None, sid: str | None) -> dict[str, Any]:
    """The claims of a logout token for ``client`` (at least one of ``sub`` and ``sid``)."""
    if sub is None and sid is None:
        raise ValueError("a logout token needs sub or sid")
    now = int(time.time())
    claims: dict[str, Any] = {"iss": issuer, "aud": client.client_id, "iat": now,
                              "exp": now + LOGOUT_TOKEN_TTL_SECONDS, "jti": secrets.token_urlsafe(16),
                              "events": {LOGOUT_EVENT: {}}}
    if sub is not None:
        claims["sub"] = sub
    if sid is not None:
        claims["sid"] = sid
    return claims


def sign_logout_token(ring: KeyRing, client: Client, claims: dict[str, Any]) -> str:
    return encode_jwt(ring.signer(client.extra.get("id_token_signed_response_alg")), claims, typ="logout+jwt")

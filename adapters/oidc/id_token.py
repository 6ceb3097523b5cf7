"""Validation of an upstream ID token (OpenID Connect Core 1.0 §3.1.3.7).

Choices, in the order they are checked:
- size first: a token above ``max_bytes`` is refused before any parsing;
- compact JWS only (an encrypted ID token is not configured, so it is refused);
- the header's ``alg`` must be one the adapter was configured with (asymmetric only: ``none``
  and every HMAC are refused, so a public key can never be used as an HMAC secret);
- headers that would let the token choose its own key (``jwk``, ``jku``, ``x5u``, ``x5c``) and
  ``crit`` are refused; the key comes only from the upstream's JWKS, selected by ``kid``;
- signature (joserfc), then iss (exact), aud (contains our client_id; azp required and equal to
  it when there are several audiences), exp and iat with a small leeway, iat not older than the
  configured age, nonce (constant-time compare), a non-empty ``sub``.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeGuard

from joserfc import jwt
from joserfc.errors import JoseError

from adapters.base import UpstreamRejected
from adapters.oidc.jwks import UpstreamKeys

FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit")


@dataclass(frozen=True)
class IdTokenRules:
    """What a valid ID token from one upstream looks like."""

    issuer: str
    client_id: str
    algorithms: Collection[str]
    leeway: int
    max_age: int
    max_bytes: int


def _reject(message: str, reason: str) -> UpstreamRejected:
    return UpstreamRejected(f"id token: {message}", reason=reason)


def read_header(raw: str, max_bytes: int) -> dict[str, Any]:
    """The protected header of a compact JWS, after the size and shape checks."""
    if len(raw) > max_bytes:
        raise _reject("too large", "oversized_token")
    parts = raw.split(".")
    if len(parts) == 5:
        raise _reject("encrypted tokens are not accepted", "encrypted_token")
    if len(parts) != 3 or not all(parts[:2]):
        raise _reject("not a compact JWS", "malformed_token")
    try:
        segment = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (ValueError, UnicodeError):
        raise _reject("unreadable header", "malformed_token") from None
    if not isinstance(header, dict):
        raise _reject("unreadable header", "malformed_token")
    return header


def validate_id_token(raw: str, keys: UpstreamKeys, rules: IdTokenRules, *, nonce: str, now: int) -> dict[str, Any]:
    """The claims of a valid ID token; raise UpstreamRejected with a stable reason otherwise."""
    header = read_header(raw, rules.max_bytes)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in rules.algorithms:
        raise _reject("algorithm not allowed", "alg_not_allowed")
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise _reject(f"header {name!r} not allowed", "header_not_allowed")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _reject("kid must be a string", "malformed_token")
    key = keys.key_for(kid, alg)
    try:
        token = jwt.decode(raw, key, algorithms=[alg])
    except JoseError:
        raise _reject("signature does not verify", "bad_signature") from None
    claims = dict(token.claims)
    check_claims(claims, rules, nonce=nonce, now=now)
    return claims


def check_claims(claims: dict[str, Any], rules: IdTokenRules, *, nonce: str, now: int) -> None:
    """The §3.1.3.7 claim checks (steps 2-4, 9-11)."""
    if claims.get("iss") != rules.issuer:
        raise _reject("wrong issuer", "wrong_issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or rules.client_id not in audiences:
        raise _reject("not issued to this client", "wrong_audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != rules.client_id:
        raise _reject("authorized party is another client", "wrong_audience")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_time(exp) or not _is_time(iat):
        raise _reject("exp and iat are required numbers", "malformed_token")
    if exp + rules.leeway < now:
        raise _reject("expired", "expired")
    if iat - rules.leeway > now:
        raise _reject("issued in the future", "issued_in_future")
    if iat + rules.max_age + rules.leeway < now:
        raise _reject("issued too long ago", "expired")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise _reject("nonce does not match", "nonce_mismatch")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise _reject("sub is missing", "missing_sub")


def _is_time(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)

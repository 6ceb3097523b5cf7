"""``id_token_hint`` (OIDC Core §3.1.2.1; RP-Initiated Logout §2): an ID token this provider issued.

Its signature must verify against our keys (it may have expired); its audience must include the
client; the ``sub`` names the person the client believes is signed in.
"""

from __future__ import annotations

from typing import Any

from idp.errors import OAuthError
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from idp.storage.models import Client
from keys.errors import InvalidToken


def verify_hint(provider: Provider, hint: str) -> dict[str, Any]:
    """The hint's claims; invalid_request when it is not an ID token of ours."""
    try:
        _header, claims = provider.ring.verify_jwt(hint)
    except InvalidToken:
        raise OAuthError("invalid_request", "id_token_hint is not a valid ID token of this provider") from None
    if claims.get("iss") != provider.issuer or not isinstance(claims.get("sub"), str):
        raise OAuthError("invalid_request", "id_token_hint was not issued by this provider")
    return claims


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def hint_matches_session(provider: Provider, hint: str | None, client: Client, session: SsoSession) -> bool:
    """True without a hint; otherwise whether it names the signed-in person (for this client)."""
    if not hint:
        return True
    claims = verify_hint(provider, hint)
    if client.client_id not in audiences(claims):
        raise OAuthError("invalid_request", "id_token_hint was issued to another client")
    return bool(claims["sub"] == provider.subject_ids.for_client(session.subject_id, client))

"""``id_token_hint`` (OIDC Core §3.1.2.1; RP-Initiated Logout §2): an ID token this provider issued.

Its signature must verify against our keys (it may have expired); its audience must include the
client; the ``sub`` names the person the client believes is signed in.
"""

from __future__ import annotations

from typing import Any

from idp.errors import OAuthError
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.sessions import SsoSession
from idp.storage.models import Client
from keys.errors import InvalidToken
from keys.ring import KeyRing


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


class IdTokenHints:
    """Reads an ``id_token_hint`` with the provider's key ring, for ``issuer``."""

    def __init__(self, *, issuer: str, ring: KeyRing, subject_ids: SubjectIdentifiers) -> None:
        self._issuer = issuer
        self._ring = ring
        self._subject_ids = subject_ids

    def verify(self, hint: str) -> dict[str, Any]:
        """The hint's claims; invalid_request when it is not an ID token of ours."""
        try:
            _header, claims = self._ring.verify_jwt(hint)
        except InvalidToken:
            raise OAuthError("invalid_request", "id_token_hint is not a valid ID token of this provider") from None
        if claims.get("iss") != self._issuer or not isinstance(claims.get("sub"), str):
            raise OAuthError("invalid_request", "id_token_hint was not issued by this provider")
        return claims

    def names_session(self, claims: dict[str, Any], client: Client, session: SsoSession) -> bool:
        """Whether verified hint ``claims`` name the person of ``session`` (as ``client`` knows them)."""
        return bool(claims["sub"] == self._subject_ids.for_client(session.subject_id, client))

    def matches_session(self, hint: str | None, client: Client, session: SsoSession) -> bool:
        """True without a hint; otherwise whether it names the signed-in person (for this client);
        invalid_request when it is not ours or was issued to another client."""
        if not hint:
            return True
        claims = self.verify(hint)
        if client.client_id not in audiences(claims):
            raise OAuthError("invalid_request", "id_token_hint was issued to another client")
        return self.names_session(claims, client, session)

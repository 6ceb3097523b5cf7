"""Token records as authlib's TokenMixin, for revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from idp.oidc.tokens import AccessTokenInfo, Authorization
from idp.storage.models import Grant, RefreshToken


@dataclass(frozen=True)
class AccessTokenRecord:
    info: AccessTokenInfo
    issuer: str

    def check_client(self, client: Any) -> bool:
        return bool(client.client_id == self.info.client_id)

    def get_scope(self) -> str:
        return " ".join(self.info.scopes)

    def get_expires_in(self) -> int:
        return max(0, self.info.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return self.info.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return False

    def introspection(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True, "scope": self.get_scope(), "client_id": self.info.client_id, "token_type": "Bearer",
            "exp": self.info.expires_at, "iat": self.info.issued_at, "sub": self.info.sub, "iss": self.issuer,
            "aud": self.issuer, "jti": self.info.jti,
        }
        if self.info.cnf:
            body["cnf"] = self.info.cnf
            body["token_type"] = "DPoP"
        return body


@dataclass(frozen=True)
class RefreshTokenRecord:
    """A refresh token and its grant. A presented token that was just rotated carries ``successor``:
    the new refresh token's value, already stored by the rotation, which the response hands out."""

    token: RefreshToken
    grant: Grant
    sub: str
    issuer: str
    successor: str | None = None

    def check_client(self, client: Any) -> bool:
        return bool(client.client_id == self.grant.client_id)

    def get_scope(self) -> str:
        return " ".join(self.grant.scopes)

    def get_expires_in(self) -> int:
        return max(0, int(self.token.expires_at.timestamp() - time.time()))

    def is_expired(self) -> bool:
        return self.token.expires_at.timestamp() <= time.time()

    def is_revoked(self) -> bool:
        return not self.grant.active or self.token.used_at is not None

    def authorization(self) -> Authorization:
        return Authorization(
            client_id=self.grant.client_id, scopes=self.grant.scopes, subject_id=self.grant.subject_id,
            grant_id=self.grant.id, sid=self.grant.sid, auth_time=self.grant.auth_time, acr=self.grant.acr,
            amr=self.grant.amr, claims=dict(self.grant.claims.get("request") or {}),
            released_claims=tuple(self.grant.claims.get("released") or ()),
            acting_for=self.grant.claims.get("acting_for"),
        )

    def introspection(self) -> dict[str, Any]:
        if self.is_revoked() or self.is_expired():
            return {"active": False}
        return {
            "active": True, "scope": self.get_scope(), "client_id": self.grant.client_id, "sub": self.sub,
            "exp": int(self.token.expires_at.timestamp()), "iss": self.issuer, "token_type": "refresh_token",
        }

"""Finding a presented token for revocation (RFC 7009) and introspection (RFC 7662), and revoking it."""

from __future__ import annotations

from idp.audit.events import AuditContext
from idp.oidc.client_directory import ClientDirectory
from idp.oidc.records import AccessTokenRecord, RefreshTokenRecord
from idp.oidc.revocation import GrantRevoker
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.oidc.tokens import TokenService, hash_token
from idp.storage.sql import SqlStorage
from keys.errors import InvalidToken

MAX_TOKEN_CHARS = 16384

TokenRecord = AccessTokenRecord | RefreshTokenRecord


def is_access_token_shaped(value: str) -> bool:
    """Whether a presented token has the shape of our access tokens (a compact JWS); refresh tokens
    are opaque and have no dots."""
    return 0 < len(value) <= MAX_TOKEN_CHARS and value.count(".") == 2


class TokenLookup:
    def __init__(self, *, issuer: str, storage: SqlStorage, tokens: TokenService, clients: ClientDirectory,
                 subject_ids: SubjectIdentifiers, grants: GrantRevoker) -> None:
        self._issuer = issuer
        self._storage = storage
        self._tokens = tokens
        self._clients = clients
        self._subject_ids = subject_ids
        self._grants = grants

    def find_token(self, value: str, hint: str | None = None) -> TokenRecord | None:
        """The live token, whatever the hint says (RFC 7009 §2.1 lets the server search both)."""
        if not value or len(value) > MAX_TOKEN_CHARS:
            return None
        if is_access_token_shaped(value):
            try:
                return AccessTokenRecord(self._tokens.check_access_token(value), self._issuer)
            except InvalidToken:
                return None
        token = self._storage.grants.find_refresh_token(hash_token(value))
        grant = self._storage.grants.get(token.grant_id) if token else None
        client = self._clients.find_client(grant.client_id) if grant else None
        if token is None or grant is None or client is None:
            return None
        sub = self._subject_ids.for_client(grant.subject_id, client) if grant.subject_id else client.client_id
        return RefreshTokenRecord(token=token, grant=grant, sub=sub, issuer=self._issuer)

    def revoke_token(self, token: TokenRecord, context: AuditContext | None = None) -> None:
        """Stop an access token at once; a refresh token revokes its grant and every token under it."""
        if isinstance(token, AccessTokenRecord):
            self._tokens.revoke_access_token(token.info)
            self._grants.record("token.revoked", context=context, client_id=token.info.client_id,
                                subject=token.info.subject_id, details={"token_type": "access_token"})
            return
        self._grants.revoke_recorded(token.grant.id, "revoked_by_client", "token.revoked", context=context,
                                     client_id=token.grant.client_id, subject=token.grant.subject_id,
                                     details={"token_type": "refresh_token", "grant_id": token.grant.id})

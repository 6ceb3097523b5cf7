"""SQL implementation of :class:`GrantStore`: grants and rotating refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from idp.storage.db import Database
from idp.storage.models import Grant, RefreshToken, utcnow
from idp.storage.schema import grants, refresh_tokens
from idp.storage.sql.base import aware, insert_row


def _load_grant(row: Any) -> Grant:
    return Grant(
        id=row["id"],
        client_id=row["client_id"],
        subject_id=row["subject_id"],
        scopes=tuple(row["scopes"]),
        claims=dict(row["claims"]),
        sid=row["sid"],
        acr=row["acr"],
        amr=tuple(row["amr"]),
        auth_time=row["auth_time"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        expires_at=aware(row["expires_at"]),  # type: ignore[arg-type]
        revoked_at=aware(row["revoked_at"]),
        revoked_reason=row["revoked_reason"],
    )


def _load_token(row: Any) -> RefreshToken:
    return RefreshToken(
        token_hash=row["token_hash"],
        grant_id=row["grant_id"],
        dpop_jkt=row["dpop_jkt"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        expires_at=aware(row["expires_at"]),  # type: ignore[arg-type]
        used_at=aware(row["used_at"]),
    )


class SqlGrantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, grant: Grant) -> Grant:
        values = {
            "id": grant.id,
            "client_id": grant.client_id,
            "subject_id": grant.subject_id,
            "scopes": list(grant.scopes),
            "claims": grant.claims,
            "sid": grant.sid,
            "acr": grant.acr,
            "amr": list(grant.amr),
            "auth_time": grant.auth_time,
            "created_at": grant.created_at,
            "expires_at": grant.expires_at,
            "revoked_at": None,
            "revoked_reason": None,
        }
        insert_row(self.db, grants, values, "grant")
        return grant

    def get(self, grant_id: str) -> Grant | None:
        with self.db.connect() as conn:
            row = conn.execute(select(grants).where(grants.c.id == grant_id)).mappings().first()
        return _load_grant(row) if row else None

    def revoke(self, grant_id: str, reason: str) -> bool:
        with self.db.connect() as conn:
            result = conn.execute(
                update(grants)
                .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )
            return result.rowcount == 1

    def _active(self, where: Any) -> Sequence[Grant]:
        query = select(grants).where(where, grants.c.revoked_at.is_(None), grants.c.expires_at > utcnow())
        with self.db.connect() as conn:
            return [_load_grant(r) for r in conn.execute(query.order_by(grants.c.created_at)).mappings()]

    def list_active_for_sid(self, sid: str) -> Sequence[Grant]:
        return self._active(grants.c.sid == sid)

    def list_active_for_subject(self, subject_id: str) -> Sequence[Grant]:
        return self._active(grants.c.subject_id == subject_id)

    def add_refresh_token(self, token: RefreshToken) -> None:
        values = {
            "token_hash": token.token_hash,
            "grant_id": token.grant_id,
            "dpop_jkt": token.dpop_jkt,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "used_at": None,
        }
        insert_row(self.db, refresh_tokens, values, "refresh token")

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        query = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _load_token(row) if row else None

    def use_refresh_token(self, token_hash: str) -> tuple[str, Grant | None, RefreshToken | None]:
        """Mark a refresh token used, atomically (see the protocol)."""
        token = self.find_refresh_token(token_hash)
        if token is None:
            return "invalid", None, None
        grant = self.get(token.grant_id)
        if grant is None or not grant.active:
            return "invalid", None, None
        if token.used_at is not None:
            return "reused", grant, token
        if token.expires_at <= utcnow():
            return "invalid", None, None
        with self.db.connect() as conn:
            claimed = conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_(None))
                .values(used_at=utcnow())
            )
        if claimed.rowcount != 1:
            return "reused", grant, token
        return "used", grant, token

"""SQL implementation of :class:`GrantStore`: grants and rotating refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

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


def _grant_values(grant: Grant) -> dict[str, Any]:
    return {
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


class SqlGrantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, grant: Grant) -> Grant:
        insert_row(self.db, grants, _grant_values(grant), "grant")
        return grant

    def create_if_absent(self, grant: Grant) -> Grant:
        """Store ``grant`` unless a grant with its id exists; return the stored one. One statement
        when it is new (``INSERT ... ON CONFLICT DO NOTHING``), a read more when it was there."""
        insert: Any = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        with self.db.connect() as conn:
            created = conn.execute(insert(grants).on_conflict_do_nothing(index_elements=["id"]),
                                   _grant_values(grant)).rowcount == 1
        if created:
            return grant
        existing = self.get(grant.id)
        assert existing is not None, "a grant is never deleted while its id is in use"
        return existing

    def get(self, grant_id: str) -> Grant | None:
        with self.db.connect() as conn:
            row = conn.execute(_GET_GRANT, {"grant_id": grant_id}).mappings().first()
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

    def use_refresh_token(self, token_hash: str, *, dpop_jkt: str | None = None
                          ) -> tuple[str, Grant | None, RefreshToken | None]:
        """Mark a refresh token used, atomically (see the protocol). The happy path is one
        statement on PostgreSQL (``UPDATE ... FROM grants ... RETURNING`` the token and its grant)
        and two on SQLite (its RETURNING cannot name a joined table: the claim, then the grant);
        only a refusal looks further."""
        now = utcnow()
        params = {"b_hash": token_hash, "b_now": now, "b_jkt": dpop_jkt}
        grant_row: Any
        with self.db.connect() as conn:
            if conn.dialect.name == "postgresql":
                row = conn.execute(_CLAIM_WITH_GRANT, params).mappings().first()
                grant_row = {c.key: row[_GRANT_PREFIX + c.key] for c in grants.c} if row else None
            else:
                row = conn.execute(_CLAIM_TOKEN, params).mappings().first()
                grant_row = conn.execute(_GET_GRANT, {"grant_id": row["grant_id"]}).mappings().first() if row else None
        if row is None:
            return self._refused(token_hash, dpop_jkt)
        token = _load_token({**row, "used_at": now})
        grant = _load_grant(grant_row) if grant_row else None
        if grant is None or not grant.active:
            return "invalid", None, None
        return "used", grant, token

    def _refused(self, token_hash: str, dpop_jkt: str | None) -> tuple[str, Grant | None, RefreshToken | None]:
        token = self.find_refresh_token(token_hash)
        if token is None or token.expires_at <= utcnow():
            return "invalid", None, None
        grant = self.get(token.grant_id)
        if grant is None or not grant.active:
            return "invalid", None, None
        if token.used_at is not None:
            return "reused", grant, token
        if token.dpop_jkt is not None and token.dpop_jkt != dpop_jkt:
            return "wrong_key", grant, token  # bound to another DPoP key (RFC 9449 §5): not consumed
        return "reused", grant, token  # lost the race to a concurrent use


# Built once (bound parameters): the refresh path runs these on every rotation.
_CLAIM_TOKEN = (
    update(refresh_tokens)
    .where(refresh_tokens.c.token_hash == bindparam("b_hash"), refresh_tokens.c.used_at.is_(None),
           refresh_tokens.c.expires_at > bindparam("b_now"),
           or_(refresh_tokens.c.dpop_jkt.is_(None), refresh_tokens.c.dpop_jkt == bindparam("b_jkt")))
    .values(used_at=bindparam("b_now"))
    .returning(*refresh_tokens.c)
)
_GRANT_PREFIX = "g_"
_CLAIM_WITH_GRANT = (  # PostgreSQL: UPDATE refresh_tokens ... FROM grants ... RETURNING both
    _CLAIM_TOKEN.where(refresh_tokens.c.grant_id == grants.c.id)
    .returning(*(column.label(_GRANT_PREFIX + column.key) for column in grants.c))
)
_GET_GRANT = select(grants).where(grants.c.id == bindparam("grant_id"))

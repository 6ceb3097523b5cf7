"""SQL implementation of :class:`GrantStore`: grants and rotating refresh tokens.

A rotation on PostgreSQL is one statement (:data:`_ROTATE`): a data-modifying CTE claims the
presented token, inserts its successor when the grant is active and the client's, and returns the
token, the grant and the grant's subject. SQLite (no joined RETURNING) runs the claim, the grant
read and the insert one after the other in one transaction; its callers read the subject themselves.

A code's first refresh token and its grant are one statement on PostgreSQL too (:data:`_OPEN`):
insert the grant unless it exists, then the token under whichever grant is stored, if it is active.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, insert, or_, select, true, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from idp.storage.db import Database
from idp.storage.models import Grant, RefreshToken, utcnow
from idp.storage.protocols import RefreshUse, Successor
from idp.storage.schema import grants, refresh_tokens, subjects
from idp.storage.sql.accounts import load_subject
from idp.storage.sql.base import aware, first_row, insert_row, keyed_select, select_one


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

    def open_with_refresh_token(self, grant: Grant, token_hash: str, *, dpop_jkt: str | None = None) -> Grant:
        now = utcnow()
        if self.db.dialect == "postgresql":
            params = {"g_" + key: value for key, value in _grant_values(grant).items()}
            params.update(b_hash=token_hash, b_jkt=dpop_jkt, b_now=now)
            with self.db.connect() as conn:
                row = first_row(conn, _OPEN, params)
            if row is not None:  # none: a concurrent first use stored the grant after our snapshot
                return _load_grant(row)
        stored = self.create_if_absent(grant)
        if stored.active and stored.client_id == grant.client_id:
            self.add_refresh_token(RefreshToken(token_hash, stored.id, stored.expires_at, dpop_jkt=dpop_jkt,
                                                created_at=now))
        return stored

    def get(self, grant_id: str) -> Grant | None:
        row = select_one(self.db, _GET_GRANT, id=grant_id)
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
        insert_row(self.db, refresh_tokens, _token_values(token), "refresh token")

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        query = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _load_token(row) if row else None

    def use_refresh_token(self, token_hash: str, successor: Successor, *, dpop_jkt: str | None = None
                          ) -> RefreshUse:
        """Use a refresh token once and store its successor, atomically (see the protocol). The
        happy path is one statement on PostgreSQL (:data:`_ROTATE`) and three on SQLite (the
        claim, the grant, the successor); only a refusal looks further."""
        now = utcnow()
        params = {"b_hash": token_hash, "b_now": now, "b_jkt": dpop_jkt, "b_next_hash": successor.token_hash,
                  "b_next_jkt": successor.dpop_jkt, "b_client": successor.client_id}
        if self.db.dialect != "postgresql":
            return self._rotate_in_steps(params, successor, now)
        with self.db.connect() as conn:
            row = first_row(conn, _ROTATE, params)
        if row is None:
            return self._refused(token_hash, dpop_jkt)
        grant = _load_grant(_unprefixed(row, _GRANT_PREFIX, grants))
        use = _rotation(row, grant, successor, now, stored=row[_NEXT_HASH] is not None)
        subject_row = _unprefixed(row, _SUBJECT_PREFIX, subjects)
        return dataclasses.replace(use, subject=load_subject(subject_row) if subject_row["id"] else None)

    def _rotate_in_steps(self, params: dict[str, Any], successor: Successor, now: datetime) -> RefreshUse:
        """SQLite, whose RETURNING cannot name a joined table: the claim, the grant, then the
        successor under the conditions of :data:`_ROTATE`, in one transaction (a successor that
        cannot be stored leaves the presented token unclaimed, as on PostgreSQL)."""
        with self.db.transaction() as conn:
            row = conn.execute(_CLAIM_TOKEN, params).mappings().first()
            if row is None:
                refused = True
            else:
                refused = False
                grant = self.get(row["grant_id"])
                use = _rotation(row, grant, successor, now,
                                stored=grant is not None and grant.active and grant.client_id == successor.client_id)
                if use.successor is not None:  # a refusal rolls the claim back
                    conn.execute(refresh_tokens.insert(), _token_values(use.successor))
        return self._refused(params["b_hash"], params["b_jkt"]) if refused else use

    def discard_refresh_token(self, token_hash: str) -> None:
        with self.db.connect() as conn:
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))

    def settle_rotation(self, token_hash: str, successor_hash: str) -> bool:
        """Settle a rotation whose outcome the caller does not know (see the protocol), in one
        transaction: a used, expired tombstone row takes the successor's hash (waiting for a
        rotation still in flight to end, on the unique index); when the successor exists instead,
        the rotation committed and is undone."""
        insert: Any = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        now = utcnow()
        with self.db.transaction() as conn:
            grant_id = conn.execute(select(refresh_tokens.c.grant_id)
                                    .where(refresh_tokens.c.token_hash == token_hash)).scalar()
            if grant_id is None:
                return False
            tombstone = {"token_hash": successor_hash, "grant_id": grant_id, "dpop_jkt": None, "created_at": now,
                         "expires_at": now, "used_at": now}
            if conn.execute(insert(refresh_tokens).on_conflict_do_nothing(index_elements=["token_hash"]),
                            tombstone).rowcount == 1:
                return False  # the rotation never committed, and now it never will
            gone = conn.execute(delete(refresh_tokens).where(refresh_tokens.c.token_hash == successor_hash,
                                                             refresh_tokens.c.used_at.is_(None)))
            if gone.rowcount != 1:
                return False  # settled before (the tombstone), or the successor was used
            conn.execute(update(refresh_tokens)
                         .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_not(None))
                         .values(used_at=None))
        return True

    def _refused(self, token_hash: str, dpop_jkt: str | None) -> RefreshUse:
        token = self.find_refresh_token(token_hash)
        if token is None or token.expires_at <= utcnow():
            return RefreshUse("invalid")
        grant = self.get(token.grant_id)
        if grant is None or not grant.active:
            return RefreshUse("invalid")
        if token.used_at is not None:
            return RefreshUse("reused", grant, token)
        if token.dpop_jkt is not None and token.dpop_jkt != dpop_jkt:
            return RefreshUse("wrong_key", grant, token)  # bound to another DPoP key (RFC 9449 §5): not consumed
        return RefreshUse("reused", grant, token)  # lost the race to a concurrent use


def _token_values(token: RefreshToken) -> dict[str, Any]:
    return {"token_hash": token.token_hash, "grant_id": token.grant_id, "dpop_jkt": token.dpop_jkt,
            "created_at": token.created_at, "expires_at": token.expires_at, "used_at": None}


def _rotation(token_row: Any, grant: Grant | None, successor: Successor, now: datetime, *, stored: bool
              ) -> RefreshUse:
    """The answer to a won claim: "invalid" when the grant is gone, revoked or expired (its
    successor was not stored); else "used", with the successor when ``stored``."""
    if grant is None or not grant.active:
        return RefreshUse("invalid")
    token = _load_token({**token_row, "used_at": now})
    if not stored:
        return RefreshUse("used", grant, token)
    fresh = RefreshToken(successor.token_hash, grant.id, grant.expires_at, dpop_jkt=successor.dpop_jkt,
                         created_at=now)
    return RefreshUse("used", grant, token, fresh)


def _unprefixed(row: Any, prefix: str, table: Table) -> dict[str, Any]:
    """One table's columns of a joined row whose columns were labelled ``prefix + name``."""
    return {column.key: row[prefix + column.key] for column in table.c}


# Built once (bound parameters): the refresh path runs these on every rotation.
_CLAIM_TOKEN = (
    update(refresh_tokens)
    .where(refresh_tokens.c.token_hash == bindparam("b_hash"), refresh_tokens.c.used_at.is_(None),
           refresh_tokens.c.expires_at > bindparam("b_now"),
           or_(refresh_tokens.c.dpop_jkt.is_(None), refresh_tokens.c.dpop_jkt == bindparam("b_jkt")))
    .values(used_at=bindparam("b_now"))
    .returning(*refresh_tokens.c)
)
_GRANT_PREFIX, _SUBJECT_PREFIX, _NEXT_HASH = "g_", "s_", "next_hash"
_GET_GRANT = keyed_select(grants, "id")


def _token_under(grant: Any, source: Any, *, hash_param: str, jkt_param: str, client_param: str) -> Any:
    """The CTE ``fresh``: ``INSERT INTO refresh_tokens`` a token (parameters named by the
    arguments, and ``b_now``) under the grant row of ``grant``'s columns (the table's or a CTE's)
    selected from ``source``, only when that grant is active and the client's; RETURNING its hash.
    It expires with its grant."""
    return (
        insert(refresh_tokens)
        .from_select(
            ["token_hash", "grant_id", "dpop_jkt", "created_at", "expires_at"],
            select(bindparam(hash_param, type_=refresh_tokens.c.token_hash.type), grant.c.id,
                   bindparam(jkt_param, type_=refresh_tokens.c.dpop_jkt.type),
                   bindparam("b_now", type_=refresh_tokens.c.created_at.type), grant.c.expires_at)
            .select_from(source)
            .where(grant.c.revoked_at.is_(None), grant.c.expires_at > bindparam("b_now"),
                   grant.c.client_id == bindparam(client_param)),
        )
        .returning(refresh_tokens.c.token_hash)
        .cte("fresh")
    )


def _rotate_statement() -> Any:
    """PostgreSQL: the whole rotation in one statement (data-modifying CTEs share one snapshot)::

        WITH claimed AS (UPDATE refresh_tokens SET used_at = :now WHERE <_CLAIM_TOKEN> RETURNING *),
             fresh AS (INSERT INTO refresh_tokens SELECT :next_hash, grants.id, :next_jkt, :now,
                       grants.expires_at FROM claimed JOIN grants ... WHERE the grant is active
                       and the client's RETURNING token_hash)
        SELECT claimed.*, grants.* AS g_*, subjects.* AS s_*, fresh.token_hash AS next_hash
        FROM claimed JOIN grants ... LEFT JOIN subjects ... LEFT JOIN fresh ON true

    A claim that fails (used, expired, another DPoP key, unknown) returns no row and inserts
    nothing: ``fresh`` selects from ``claimed``. A concurrent use waits on the token's row lock and
    then finds ``used_at`` set, as with the UPDATE alone.
    """
    claimed = _CLAIM_TOKEN.cte("claimed")
    with_grant = claimed.join(grants, grants.c.id == claimed.c.grant_id)
    fresh = _token_under(grants, with_grant, hash_param="b_next_hash", jkt_param="b_next_jkt", client_param="b_client")
    return (
        select(*claimed.c, *(c.label(_GRANT_PREFIX + c.key) for c in grants.c),
               *(c.label(_SUBJECT_PREFIX + c.key) for c in subjects.c), fresh.c.token_hash.label(_NEXT_HASH))
        .select_from(with_grant.outerjoin(subjects, subjects.c.id == grants.c.subject_id).outerjoin(fresh, true()))
    )


_ROTATE = _rotate_statement()


def _open_statement() -> Any:
    """PostgreSQL: a grant (unless it exists) and its first refresh token in one statement::

        WITH new_grant AS (INSERT INTO grants VALUES (:g_*) ON CONFLICT (id) DO NOTHING RETURNING *),
             the_grant AS (SELECT * FROM new_grant UNION ALL
                           SELECT * FROM grants WHERE id = :g_id AND NOT EXISTS (SELECT FROM new_grant)),
             fresh AS (INSERT INTO refresh_tokens SELECT :b_hash, id, :b_jkt, :b_now, expires_at
                       FROM the_grant WHERE active and the client's RETURNING token_hash)
        SELECT the_grant.* FROM the_grant

    Both reads of ``grants`` see the statement's snapshot: a grant another transaction stores
    meanwhile makes the insert do nothing and the read miss it (no row: the caller falls back to
    the steps one by one).
    """
    new_grant = (
        postgresql.insert(grants)
        .values({column.key: bindparam("g_" + column.key, type_=column.type) for column in grants.c})
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(*grants.c)
        .cte("new_grant")
    )
    existing = select(*grants.c).where(grants.c.id == bindparam("g_id"), ~exists(select(new_grant.c.id)))
    the_grant = union_all(select(*new_grant.c), existing).cte("the_grant")
    fresh = _token_under(the_grant, the_grant, hash_param="b_hash", jkt_param="b_jkt", client_param="g_client_id")
    return select(*the_grant.c).select_from(the_grant.outerjoin(fresh, true()))


_OPEN = _open_statement()

"""The durable deny list of self-contained client access tokens (``revoked_client_tokens``).

A person's access token is valid only while its record lives in the short-lived store, so losing
that store ends it (fail closed). A client's own token has no record: it is valid unless denied,
so its denial must survive the short-lived store losing its data. The row goes once the token
would have expired anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.storage.db import Database
from idp.storage.models import utcnow
from idp.storage.schema import revoked_client_tokens


class SqlRevokedClientTokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def revoke(self, jti: str, client_id: str, expires_at: datetime) -> None:
        """Deny the token until ``expires_at`` (again: harmless); drop the entries past their expiry."""
        with self.db.connect() as conn:
            conn.execute(delete(revoked_client_tokens).where(revoked_client_tokens.c.expires_at < utcnow()))
        try:
            with self.db.connect() as conn:
                conn.execute(revoked_client_tokens.insert().values(jti=jti, client_id=client_id, expires_at=expires_at))
        except IntegrityError:
            pass  # denied already

    def is_revoked(self, jti: str) -> bool:
        with self.db.connect() as conn:
            row = conn.execute(select(revoked_client_tokens.c.jti).where(
                revoked_client_tokens.c.jti == jti)).first()
        return row is not None

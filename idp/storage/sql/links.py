"""SQL implementation of :class:`IdentityLinkStore`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from idp.storage.db import Database
from idp.storage.models import IdentityLink
from idp.storage.schema import identity_links
from idp.storage.sql.base import aware, insert_row


def _load(row: Any) -> IdentityLink:
    return IdentityLink(
        id=row["id"],
        subject_id=row["subject_id"],
        adapter=row["adapter"],
        external_subject=row["external_subject"],
        claims=dict(row["claims"]),
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        last_login_at=aware(row["last_login_at"]),  # type: ignore[arg-type]
    )


class SqlIdentityLinkStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, link: IdentityLink) -> IdentityLink:
        values = {
            "id": link.id,
            "subject_id": link.subject_id,
            "adapter": link.adapter,
            "external_subject": link.external_subject,
            "claims": link.claims,
            "created_at": link.created_at,
            "last_login_at": link.last_login_at,
        }
        insert_row(self.db, identity_links, values, "identity link")
        return link

    def find(self, adapter: str, external_subject: str) -> IdentityLink | None:
        query = select(identity_links).where(
            identity_links.c.adapter == adapter, identity_links.c.external_subject == external_subject
        )
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _load(row) if row else None

    def list_for_subject(self, subject_id: str) -> Sequence[IdentityLink]:
        query = select(identity_links).where(identity_links.c.subject_id == subject_id)
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(identity_links.c.created_at)).mappings().all()
        return [_load(r) for r in rows]

    def record_login(self, link_id: str, claims: dict[str, Any], at: datetime) -> None:
        with self.db.connect() as conn:
            conn.execute(
                update(identity_links)
                .where(identity_links.c.id == link_id)
                .values(claims=claims, last_login_at=at)
            )

    def update_claims(self, link_id: str, claims: dict[str, Any]) -> None:
        """What the source says about the identity now, seen without a sign-in (a re-check)."""
        with self.db.connect() as conn:
            conn.execute(update(identity_links).where(identity_links.c.id == link_id).values(claims=claims))

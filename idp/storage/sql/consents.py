"""SQL implementation of :class:`ConsentStore`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from idp.errors import AlreadyExists
from idp.storage.db import Database
from idp.storage.models import Consent, utcnow
from idp.storage.schema import consents
from idp.storage.sql.base import aware, cas_update, insert_row, keyed_select, select_one


def _load(row: Any) -> Consent:
    return Consent(
        subject_id=row["subject_id"],
        client_id=row["client_id"],
        scopes=frozenset(row["scopes"]),
        claims=frozenset(row["claims"]),
        version=row["version"],
        granted_at=aware(row["granted_at"]),  # type: ignore[arg-type]
    )


def _dump(consent: Consent) -> dict[str, Any]:
    return {
        "subject_id": consent.subject_id,
        "client_id": consent.client_id,
        "scopes": sorted(consent.scopes),
        "claims": sorted(consent.claims),
        "granted_at": consent.granted_at,
    }


class SqlConsentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _key(self, subject_id: str, client_id: str) -> Any:
        return (consents.c.subject_id == subject_id) & (consents.c.client_id == client_id)

    def get(self, subject_id: str, client_id: str) -> Consent | None:
        row = select_one(self.db, _CONSENT, subject_id=subject_id, client_id=client_id)
        return _load(row) if row else None

    def grant(self, subject_id: str, client_id: str, scopes: set[str], claims: set[str] = frozenset()) -> Consent:  # type: ignore[assignment]
        def merge(current: Consent) -> Consent:
            return Consent(
                subject_id=subject_id,
                client_id=client_id,
                scopes=current.scopes | set(scopes),
                claims=current.claims | set(claims),
                granted_at=utcnow(),
            )

        fresh = Consent(subject_id, client_id, frozenset(scopes), frozenset(claims))
        for _ in range(3):
            if self.get(subject_id, client_id) is None:
                try:
                    insert_row(self.db, consents, {**_dump(fresh), "version": 1}, "consent")
                    return fresh
                except AlreadyExists:
                    continue  # another request granted at the same time: merge into it
            return cas_update(self.db, consents, self._key(subject_id, client_id), _load, _dump, merge, "consent")
        return cas_update(self.db, consents, self._key(subject_id, client_id), _load, _dump, merge, "consent")

    def withdraw(self, subject_id: str, client_id: str) -> bool:
        with self.db.connect() as conn:
            return conn.execute(delete(consents).where(self._key(subject_id, client_id))).rowcount == 1

    def list_for_subject(self, subject_id: str) -> Sequence[Consent]:
        query = select(consents).where(consents.c.subject_id == subject_id).order_by(consents.c.client_id)
        with self.db.connect() as conn:
            return [_load(r) for r in conn.execute(query).mappings().all()]


_CONSENT = keyed_select(consents, "subject_id", "client_id")

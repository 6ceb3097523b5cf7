"""Erasing one person from the durable store (the right to erasure of Law 91/2025): their subject
row and everything that hangs on it, in one transaction.

Removed: the subject (claims, the encrypted personal ID number and its keyed hash), local account,
identity links, second factors, passkeys, consents, grants and their refresh tokens. The audit
trail is not touched here: its rows are chained and signed, they name the person only by the
internal subject id, and they go with the retention period (``idp retention apply``).
"""

from __future__ import annotations

from sqlalchemy import delete, select

from idp.storage.db import Database
from idp.storage.schema import (
    accounts,
    consents,
    grants,
    identity_links,
    passkeys,
    person_factors,
    refresh_tokens,
    subjects,
)


def erase_subject(db: Database, subject_id: str) -> dict[str, int]:
    """Delete the person's rows; the number deleted per table (``subjects`` 0: nobody to erase)."""
    counts: dict[str, int] = {}
    with db.transaction() as conn:
        person_grants = select(grants.c.id).where(grants.c.subject_id == subject_id)
        counts["refresh_tokens"] = conn.execute(
            delete(refresh_tokens).where(refresh_tokens.c.grant_id.in_(person_grants))).rowcount
        for table in (grants, consents, identity_links, passkeys, person_factors, accounts):
            counts[table.name] = conn.execute(delete(table).where(table.c.subject_id == subject_id)).rowcount
        counts["subjects"] = conn.execute(delete(subjects).where(subjects.c.id == subject_id)).rowcount
    return counts

"""The durable copy of account locks (``account_locks``).

The throttle counts failures in the short-lived store; only a lock itself, written when a
threshold is reached, is also kept here, so losing the short-lived store's data cannot unlock an
account (the throttle reloads the locks still in force). A row goes with its unlock or once it
has expired.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from idp.storage.db import Database
from idp.storage.models import utcnow
from idp.storage.schema import account_locks


class SqlAccountLocks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def lock(self, key: str, until: datetime, failures: int) -> None:
        """Record (or extend) the lock of the account ``key`` (the throttle's account key) until
        ``until``; drop the locks past their end."""
        with self.db.transaction() as conn:
            conn.execute(delete(account_locks).where(
                (account_locks.c.until < utcnow()) | (account_locks.c.key == key)))
            conn.execute(account_locks.insert().values(key=key, until=until, failures=failures))

    def unlock(self, key: str) -> None:
        with self.db.connect() as conn:
            conn.execute(delete(account_locks).where(account_locks.c.key == key))

    def in_force(self) -> list[tuple[str, datetime, int]]:
        """Every lock not yet ended: (key, until, failures)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(account_locks.c.key, account_locks.c.until, account_locks.c.failures)
                                .where(account_locks.c.until > utcnow())).all()
        return [(row.key, row.until, row.failures) for row in rows]

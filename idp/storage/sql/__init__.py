"""The one SQL implementation of the durable-store protocols (PostgreSQL and SQLite)."""

from __future__ import annotations

from dataclasses import dataclass

from idp.storage.db import POOL_OVERFLOW, POOL_SIZE, Database, Timeouts, build_engine
from idp.storage.sql.accounts import SqlAccountStore, SqlSubjectStore
from idp.storage.sql.clients import SqlClientStore
from idp.storage.sql.consents import SqlConsentStore
from idp.storage.sql.grants import SqlGrantStore
from idp.storage.sql.keys import SqlSigningKeyStore
from idp.storage.sql.links import SqlIdentityLinkStore


@dataclass
class SqlStorage:
    """Every durable store over one database; ``db.transaction()`` spans several of them."""

    db: Database
    clients: SqlClientStore
    subjects: SqlSubjectStore
    accounts: SqlAccountStore
    links: SqlIdentityLinkStore
    consents: SqlConsentStore
    grants: SqlGrantStore
    keys: SqlSigningKeyStore

    @classmethod
    def open(cls, url: str, *, schema: str | None = None, pool_size: int = POOL_SIZE,
             pool_overflow: int = POOL_OVERFLOW, timeouts: Timeouts | None = None) -> SqlStorage:
        db = Database(build_engine(url, schema=schema, pool_size=pool_size, pool_overflow=pool_overflow,
                                   timeouts=timeouts))
        return cls(
            db=db,
            clients=SqlClientStore(db),
            subjects=SqlSubjectStore(db),
            accounts=SqlAccountStore(db),
            links=SqlIdentityLinkStore(db),
            consents=SqlConsentStore(db),
            grants=SqlGrantStore(db),
            keys=SqlSigningKeyStore(db),
        )

    def close(self) -> None:
        self.db.dispose()

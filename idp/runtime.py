"""Opening the provider's parts from settings: durable storage, short-lived state.

Both ``create_app`` and the ``idp`` command use this, so a CLI change and a served request see
the same database, schema version and stores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from idp.accounts.passwords import configure_hashing
from idp.errors import StorageError
from idp.settings import Settings
from idp.storage.ephemeral import EphemeralStore, open_ephemeral_store
from idp.storage.migrate import current_revision, head_revision, upgrade
from idp.storage.sql import SqlStorage


def prepare_data_dir(settings: Settings) -> None:
    """Create the data folder with owner-only permissions (it holds keys and the SQLite file)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)


def open_storage(settings: Settings, *, migrate: bool | None = None, serving: bool = False) -> SqlStorage:
    """Open the database; upgrade the schema when configured to; refuse an out-of-date schema.

    Its statements are bounded as the server's (``IDP_DATABASE_STATEMENT_TIMEOUT_SECONDS``) when
    ``serving``, else as an ``idp`` command's (``IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS``).
    Passwords of the accounts in it are hashed at the configured argon2id cost from now on."""
    configure_hashing(settings.password_hash_memory_kib, settings.password_hash_time_cost)
    if settings.is_sqlite and settings.database_url is None:
        prepare_data_dir(settings)
    storage = SqlStorage.open(settings.effective_database_url, pool_size=settings.database_pool_size,
                              pool_overflow=settings.database_pool_overflow,
                              timeouts=settings.database_timeouts if serving else settings.command_database_timeouts)
    try:
        storage.db.ping()
        if settings.should_auto_migrate if migrate is None else migrate:
            upgrade(storage.db.engine)
        elif current_revision(storage.db.engine) != head_revision(storage.db.engine):
            raise StorageError("the database schema is not up to date: run `idp db upgrade`")
    except SQLAlchemyError as exc:
        storage.close()
        raise StorageError(f"database unreachable ({describe_db_error(exc)})") from None
    except Exception:
        storage.close()
        raise
    return storage


def describe_db_error(exc: Exception) -> str:
    """A one-line reason that never echoes the URL (it may carry a password)."""
    original = getattr(exc, "orig", None) or exc
    line = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return line[:200]


@dataclass
class Runtime:
    """The opened parts of one provider process."""

    settings: Settings
    storage: SqlStorage
    ephemeral: EphemeralStore

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        storage = open_storage(settings, serving=True)
        return cls(settings=settings, storage=storage, ephemeral=open_ephemeral_store(settings.redis_url,
                                                                                     settings.redis_prefix))

    def unreachable(self) -> list[str]:
        """The stores that do not answer now (``database``, ``redis`` or ``ephemeral store``): what
        ``/readyz`` reports."""
        down: list[str] = []
        try:
            if self.storage.db.is_read_only():  # answers, but no sign-in could be recorded
                down.append("database (read-only)")
        except Exception:
            down.append("database")
        try:
            self.ephemeral.ping()
        except Exception:
            down.append("redis" if self.settings.redis_url else "ephemeral store")
        return down

    def close(self) -> None:
        self.storage.close()

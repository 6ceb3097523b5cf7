"""The migrations create exactly the schema the code declares, and upgrading twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from idp.storage.migrate import current_revision, head_revision, upgrade
from idp.storage.schema import metadata
from idp.storage.sql import SqlStorage


def test_migrations_match_schema(storage: SqlStorage) -> None:
    with storage.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrade_is_idempotent(storage: SqlStorage) -> None:
    upgrade(storage.db.engine)
    assert current_revision(storage.db.engine) == head_revision(storage.db.engine)

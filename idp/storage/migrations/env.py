"""Alembic environment: runs against the connection handed in by :func:`idp.storage.migrate.upgrade`."""

from __future__ import annotations

from alembic import context

from idp.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()

"""The database pool and the request threads are sized by settings, so three replicas with two
workers each fit under PostgreSQL's default 100 connections (IDP_DATABASE_POOL_SIZE/OVERFLOW)."""

from __future__ import annotations

from sqlalchemy import text

from idp.runtime import open_storage
from idp.settings import load_settings
from idp.storage.db import POOL_SIZE
from idp.web import threads


def test_pool_settings_bound_the_connections(postgres_url: str) -> None:
    settings = load_settings(database_url=postgres_url, database_pool_size=3, database_pool_overflow=1)
    storage = open_storage(settings, migrate=True)
    try:
        pool = storage.db.engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        held = [storage.db.engine.connect() for _ in range(4)]
        for conn in held:
            conn.execute(text("select 1"))
        # Four connections in use: the pool and its one overflow connection, no more.
        assert pool.overflow() == 1  # type: ignore[attr-defined]
        for conn in held:
            conn.close()
    finally:
        storage.close()


def test_request_threads_follow_the_pool_size() -> None:
    try:
        threads.size_pool(5)
        assert threads._executor._max_workers == 5
    finally:
        threads.size_pool(POOL_SIZE)
    assert threads._executor._max_workers == POOL_SIZE

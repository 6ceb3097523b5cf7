"""A thread that keeps its PostgreSQL connection (request threads, the audit writer): statements
commit on their own, transactions stay atomic, a broken connection is replaced, dispose closes it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import text

from idp.storage.db import Database, build_engine, keep_connection_in_this_thread
from tests.conftest import POSTGRES_URL, _fresh_postgres


@pytest.fixture
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    url, schema = _fresh_postgres(request)
    database = Database(build_engine(url, schema=schema))
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE kept (id int primary key)"))
    yield database
    database.dispose()


def in_keeping_thread(work: Callable[[], object]) -> object:
    """Run ``work`` in a new thread that keeps its connection; its result or its exception."""
    outcome: list[object] = []

    def run() -> None:
        keep_connection_in_this_thread()
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def count(db: Database) -> int:
    with db.engine.connect() as conn:  # another connection: sees only what was committed
        return int(conn.execute(text("SELECT count(*) FROM kept")).scalar_one())


def backend_pid(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_thread_reuses_one_connection_and_its_statements_commit_at_once(db: Database) -> None:
    def work() -> tuple[int, int]:
        first = backend_pid(db)
        with db.connect() as conn:
            conn.execute(text("INSERT INTO kept VALUES (1)"))
        assert count(db) == 1  # visible to others before the thread does anything else
        return first, backend_pid(db)

    first, second = in_keeping_thread(work)  # type: ignore[misc]
    assert first == second


def test_a_failed_transaction_on_a_kept_connection_leaves_nothing(db: Database) -> None:
    def work() -> int:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute(text("INSERT INTO kept VALUES (2)"))
            raise RuntimeError("half-way")
        with db.transaction() as conn:
            conn.execute(text("INSERT INTO kept VALUES (3)"))
            assert count(db) == 0  # not committed yet
        return count(db)

    assert in_keeping_thread(work) == 1
    with db.engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT id FROM kept"))] == [3]


def test_a_kept_connection_the_server_dropped_is_replaced(db: Database) -> None:
    def work() -> tuple[int, int]:
        before = backend_pid(db)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (before,))
        with pytest.raises(Exception):  # noqa: B017 - the one statement that finds it broken fails
            backend_pid(db)
        return before, backend_pid(db)

    before, after = in_keeping_thread(work)  # type: ignore[misc]
    assert after != before


def test_dispose_closes_the_kept_connections(db: Database) -> None:
    pid = in_keeping_thread(lambda: backend_pid(db))
    db.dispose()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert alive == (0,)

"""Helpers shared by the SQL repositories: row mapping and compare-and-swap updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import ColumnElement, Connection, Select, Table, and_, bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from idp.errors import AlreadyExists, ConcurrentUpdate, NotFound
from idp.storage.db import Database

T = TypeVar("T")
CAS_ATTEMPTS = 20


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every datetime the store hands out is UTC-aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def keyed_select(table: Table, *columns: str) -> Select[Any]:
    """``SELECT * FROM table WHERE c1 = :c1 AND ...``, built once at import: the lookups that run on
    every sign-in skip SQLAlchemy's per-call statement building and cache-key work."""
    return select(table).where(and_(*(table.c[name] == bindparam(name) for name in columns)))


def select_one(db: Database, statement: Select[Any], **values: Any) -> Any:
    """The first row of a :func:`keyed_select` as a mapping, or None.

    On PostgreSQL the statement's text (compiled once) runs as a prepared statement straight on the
    psycopg connection under the SQLAlchemy one, in its transaction when there is one: the types of
    our tables need no SQLAlchemy result processing (psycopg returns aware datetimes and parsed JSON
    itself), and SQLAlchemy's per-call work costs about twice the statement's own client CPU
    (bench/experiments/sql_checkout.py). Driver errors come out as SQLAlchemy's, as on the other path."""
    with db.connect() as conn:
        if conn.dialect.name != "postgresql":
            return conn.execute(statement, values).mappings().first()
        return _driver_first(conn, statement, values)


_DRIVER_SQL: dict[int, tuple[Select[Any], str]] = {}  # id -> (the statement, held so the id stays its own; text)


def _driver_first(conn: Connection, statement: Select[Any], values: dict[str, Any]) -> dict[str, Any] | None:
    known = _DRIVER_SQL.get(id(statement))
    if known is None or known[0] is not statement:
        known = _DRIVER_SQL[id(statement)] = (statement, str(statement.compile(dialect=conn.dialect)))
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor(row_factory=dict_row) as cursor:
            cursor.execute(known[1], values, prepare=True)
            return cursor.fetchone()
    except psycopg.Error as exc:
        if driver.broken or driver.closed:  # SQLAlchemy did not see it fail: would hand it out again
            conn.invalidate()
        raise DBAPIError.instance(known[1], values, exc, psycopg.Error, dialect=conn.dialect) from exc


def insert_row(db: Database, table: Table, values: dict[str, Any], what: str) -> None:
    """Insert one row; AlreadyExists when a unique constraint refuses it."""
    try:
        with db.connect() as conn:
            if db.in_transaction():  # a savepoint, so the caller's transaction survives the refusal
                with conn.begin_nested():
                    conn.execute(table.insert(), values)
            else:
                conn.execute(table.insert(), values)
    except IntegrityError as exc:
        raise AlreadyExists(f"{what} already exists") from exc


def cas_update(
    db: Database,
    table: Table,
    key: ColumnElement[bool],
    load: Callable[[Any], T],
    dump: Callable[[T], dict[str, Any]],
    updater: Callable[[T], T],
    what: str,
) -> T:
    """Read, apply ``updater``, write back where ``version`` is unchanged; retry when it changed."""
    for _ in range(CAS_ATTEMPTS):
        with db.connect() as conn:
            row = conn.execute(select(table).where(key)).mappings().first()
            if row is None:
                raise NotFound(f"{what} not found")
            current = load(row)
            changed = updater(current)
            values = dump(changed)
            values["version"] = row["version"] + 1
            if "updated_at" in table.c:
                values["updated_at"] = datetime.now(UTC)
            result = conn.execute(
                update(table).where(key, table.c.version == row["version"]).values(**values)
            )
            if result.rowcount == 1:
                return load({**row, **values})
    raise ConcurrentUpdate(f"{what} kept changing; try again")

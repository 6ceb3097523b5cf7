"""Helpers shared by the SQL repositories: row mapping and compare-and-swap updates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import ColumnElement, Connection, Dialect, Executable, Select, Table, and_, bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from idp.errors import AlreadyExists, ConcurrentUpdate, NotFound
from idp.storage.db import Database, driver_call_bound

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
    """The first row of a :func:`keyed_select` as a mapping, or None (see :func:`first_row`)."""
    with db.connect() as conn:
        return first_row(conn, statement, values)


def first_row(conn: Connection, statement: Executable, values: dict[str, Any]) -> Any:
    """The first row ``statement`` returns, as a mapping, or None.

    On PostgreSQL the statement's text (compiled once per statement) runs as a prepared statement
    straight on the psycopg connection under ``conn``, in its transaction when it is in one: the
    types of our tables need no SQLAlchemy result processing (psycopg returns aware datetimes and
    parsed JSON itself; parameters go through the types' own bind processors), and SQLAlchemy's
    per-call work costs about twice a short statement's own client CPU
    (bench/experiments/sql_checkout.py). Driver errors come out as SQLAlchemy's, as on the other
    path, and a connection found broken is invalidated. Elsewhere: SQLAlchemy's execution."""
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, values).mappings().first()
    prepared = _DRIVER_STATEMENTS.get(id(statement))
    if prepared is None or prepared.statement is not statement:
        prepared = _DRIVER_STATEMENTS[id(statement)] = _DriverStatement.compile(statement, conn.dialect)
    params = prepared.params(values)
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver_call_bound(conn), driver.cursor(row_factory=dict_row) as cursor:
            cursor.execute(prepared.sql, params, prepare=True)
            return cursor.fetchone()
    except psycopg.Error as exc:
        if driver.broken or driver.closed:  # SQLAlchemy did not see it fail: would hand it out again
            conn.invalidate()
        raise DBAPIError.instance(prepared.sql, params, exc, psycopg.Error, dialect=conn.dialect) from exc


@dataclass(frozen=True)
class _DriverStatement:
    statement: Executable  # held, so that its id() stays its own while it is cached
    sql: str
    fixed: dict[str, Any]  # values the statement carries itself (literal binds)
    processors: dict[str, Callable[[Any], Any]]  # by parameter name: the column type's bind processor

    @classmethod
    def compile(cls, statement: Executable, dialect: Dialect) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        fixed = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(statement, str(compiled), fixed, processors)

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        params = {**self.fixed, **values}
        for name, processor in self.processors.items():
            if name in params:
                params[name] = processor(params[name])
        return params


_DRIVER_STATEMENTS: dict[int, _DriverStatement] = {}


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

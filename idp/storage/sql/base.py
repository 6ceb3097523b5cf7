"""Helpers shared by the SQL repositories: row mapping and compare-and-swap updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError

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
    """The first row of a :func:`keyed_select` as a mapping, or None."""
    with db.connect() as conn:
        return conn.execute(statement, values).mappings().first()


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

"""Writing many rows into a PostgreSQL table with ``COPY`` (the bench's preloads)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from sqlalchemy import JSON, Table


def copy_rows(driver: psycopg.Connection[Any], table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """COPY ``rows`` (dicts by column name; a missing column is NULL) into ``table`` in the driver
    connection's transaction; JSON columns are serialised here. Returns the number of rows."""
    names = [column.name for column in table.columns]
    is_json = {column.name for column in table.columns if isinstance(column.type, JSON)}
    count = 0
    with driver.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in is_json and row.get(n) is not None else row.get(n)
                            for n in names])
            count += 1
    return count

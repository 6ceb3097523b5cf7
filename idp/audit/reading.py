"""Reading the audit log in sequence order, page by page (``idp audit verify`` and ``export``).

A page is one short read of ``batch`` rows after the last seq seen (keyset pagination on the
primary key: each page costs the same however far into a log of millions it is, and no read holds
a snapshot or SQLite's lock for longer than one page). While the caller works on a page, the next
one is already being read on another thread, so the database's time overlaps ours instead of
adding to it; at most two pages are in memory at once, whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Select

from idp.storage.db import Database
from idp.storage.schema import audit_events


def pages(db: Database, statement: Select[Any], *, after: int = 0, batch: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``statement`` (a select of ``audit_events`` columns including ``seq``, with any
    filters) with ``seq > after``, oldest first, as dicts in pages of at most ``batch`` rows. Inside
    the caller's transaction the pages are read in it, one after the other."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    if db.in_transaction():
        yield from _pages_in_order(db, statement, after, batch)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-read") as reader:
        page = _page(db, statement, after, batch)
        while page:
            ahead = reader.submit(_page, db, statement, page[-1]["seq"], batch) if len(page) == batch else None
            yield page
            page = ahead.result() if ahead is not None else []


def _pages_in_order(db: Database, statement: Select[Any], after: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    while True:
        page = _page(db, statement, after, batch)
        if page:
            yield page
        if len(page) < batch:
            return
        after = page[-1]["seq"]


def _page(db: Database, statement: Select[Any], after: int, batch: int) -> list[dict[str, Any]]:
    seq = audit_events.c.seq
    with db.connect() as conn:
        result = conn.execute(statement.where(seq > after).order_by(seq).limit(batch))
        names = tuple(result.keys())
        return [dict(zip(names, row, strict=True)) for row in result]

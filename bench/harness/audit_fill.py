"""Filling a database with many chained, signed-checkpointed audit events, quickly.

The rows are built by the product's own chaining code (:meth:`SqlAuditLog.fields` and
:meth:`SqlAuditLog.chain_rows`, which also signs a checkpoint into every
``IDP_AUDIT_CHECKPOINT_INTERVAL``-th row with the key ring's current key) and written with
PostgreSQL ``COPY`` in chunks; only the writing is the bench's. The chain starts after the tip the
database has (the key ring's own events, say) and ends with one event appended the ordinary way,
which moves the chain head. Used by ``bench/audit_scale.py`` and ``bench/run.py --preload``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.harness.bulk import copy_rows
from idp.audit.events import AuditContext, AuditEvent
from idp.audit.sql import SqlAuditLog, lock_head
from idp.audit.types import ADMIN_ACTION
from idp.storage.schema import audit_events

CHUNK = 20_000
_TYPES = ("signin", "code.issued", "token.issued", "token.refreshed")


def sample_event(n: int) -> AuditEvent:
    """The n-th event of a busy day: sign-ins, codes and tokens of 200,000 people over 20 services."""
    person, kind = n % 200_000, _TYPES[n % len(_TYPES)]
    details: dict[str, Any] = {"scope": "openid profile"} if kind.startswith("token") else {}
    if kind == "token.issued":
        details.update(claims=["name", "birthdate"], legal_basis={"profile": "consent"})
    return AuditEvent(
        type=kind, subject=f"sub-{person:06d}", username=f"cd{person:06d}", client_id=f"service-{n % 20:02d}",
        adapter="local" if kind == "signin" else None, acr="urn:vn:loa:2" if kind == "signin" else None,
        amr=("pwd",) if kind == "signin" else None, details=details,
        context=AuditContext(ip=f"203.0.113.{n % 250}", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                             request_id=f"r-{n:08x}", session_id=f"s-{person:06d}".ljust(43, "x")),
    )


def chained_rows(log: SqlAuditLog, count: int, last_seq: int, last_hash: str, *, start: datetime,
                 step: timedelta, chunk: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    """``count`` event rows after the tip (last seq, last hash), in chunks, one every ``step`` from
    ``start``; the checkpoints are signed now (the key ring's key is younger than the events)."""
    for first in range(0, count, chunk):
        fields = [log.fields(sample_event(n), start + n * step) for n in range(first, min(first + chunk, count))]
        rows = log.chain_rows(fields, last_seq, last_hash, datetime.now(UTC))
        last_seq, last_hash = rows[-1]["seq"], rows[-1]["hash"]
        yield rows


def fill_audit_events(log: SqlAuditLog, count: int, *, days: float = 30.0,
                      progress: Callable[[int], None] | None = None) -> int:
    """Append ``count`` chained events (PostgreSQL only) spread over the last ``days``, then one more
    the ordinary way (it moves the head); return the last seq. ``log`` needs a checkpointer for the
    periodic signed checkpoints."""
    db = log.db
    with db.transaction() as conn:
        last_seq, last_hash = lock_head(conn)
    step = timedelta(days=days) / max(count, 1)
    start = datetime.now(UTC) - timedelta(days=days)
    written = 0
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        for rows in chained_rows(log, count, last_seq, last_hash, start=start, step=step):
            copy_rows(driver, audit_events, rows)
            driver.commit()
            written += len(rows)
            if progress is not None:
                progress(written)
    with db.connect() as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) audit_events")  # as autovacuum would leave an old log
    return int(log.append(AuditEvent(type=ADMIN_ACTION, details={"action": "bench.preload",
                                                                   "events": count}))["seq"])


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    """(result, wall seconds)."""
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began

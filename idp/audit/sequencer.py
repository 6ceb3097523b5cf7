"""The sequencer: links the events staged unlinked in ``audit_pending`` into the hash chain.

With ``IDP_AUDIT_SEQUENCER`` on, a request never touches the chain: its event is inserted unlinked
(no seq, prev_hash or hash) in the transaction of the change it describes, or group-committed by
the batcher, and the response leaves once that insert has committed (durable, as before). A
sequencer thread in each server process then links them, in batches, each in one transaction:

1. PostgreSQL: ``pg_try_advisory_xact_lock`` on :data:`LOCK_KEY_SQL`; when another process holds it, this
   one skips the round (one sequencer links at a time per deployment; the lock is a transaction's,
   so it goes with its holder's connection when the holder dies, and the next batch anywhere takes
   it). SQLite: the write lock of ``BEGIN IMMEDIATE``.
2. Lock the chain head and read the tip (:func:`idp.audit.sql.lock_head`: also serialises with
   events appended inline by the ``idp`` commands).
3. Read up to :data:`BATCH` pending rows by id, link them in that order after the tip (seq,
   prev_hash, hash; a checkpoint signed where one is due), insert them into ``audit_events``,
   delete them from ``audit_pending`` and move the head: once per batch.

Id order against commit order: on PostgreSQL an id is taken when the row is inserted, so a lower id
can commit after a higher one. The sequencer keeps no cursor over ids: it links what is committed
and pending when its statement runs (the pending read takes its snapshot after the head lock is
granted) and deletes exactly those rows. A row that commits later is simply pending at the next
round and linked then, at a higher seq; nothing can be skipped, so no grace period is needed. The
chain's order is the order of linking, which is the order of commit up to one batch.

A row left pending (no sequencer running, a sequencer failing) is reported by ``idp audit verify``
once it is older than ``IDP_AUDIT_LINK_ALARM_SECONDS`` (:func:`oldest_unlinked`).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import delete, exists, func, select, text

from idp.audit.sql import (
    _INSERT_EVENT,
    _MOVE_HEAD,
    _NEWEST_EVENT,
    _WRITING,
    HEAD_ID,
    SqlAuditLog,
    _after_failure,
    _batch_params,
    _chain_tip,
    _head_values,
    _pg_text,
    lock_head,
)
from idp.storage.db import Database, keep_connection_in_this_thread
from idp.storage.schema import audit_pending

#: The sequencer's advisory lock: this application's constant in the high 32 bits, the oid of the
#: ``audit_pending`` table it guards in the low ones (two deployments in two schemas of one database
#: each have their own sequencer).
LOCK_KEY_SQL = f"({int.from_bytes(b'vnid', 'big')}::bigint << 32) | 'audit_pending'::regclass::oid::bigint"
BATCH = 1000
log = logging.getLogger(__name__)
_PENDING = select(audit_pending).order_by(audit_pending.c.id)
_ANY_PENDING = select(exists().select_from(audit_pending))
_PENDING_COLUMNS = ", ".join(column.name for column in audit_pending.columns)
_LINK_STATEMENTS = (  # schema names and constants only; the limit is bound
    f"SELECT pg_try_advisory_xact_lock({LOCK_KEY_SQL})",
    f"SELECT last_seq, last_hash FROM audit_chain WHERE id = {HEAD_ID} AND "  # noqa: S608
    f"pg_try_advisory_xact_lock({LOCK_KEY_SQL}) FOR UPDATE",
    _pg_text(_NEWEST_EVENT, literal_binds=True),
    f"DELETE FROM audit_pending WHERE pg_try_advisory_xact_lock({LOCK_KEY_SQL}) AND id IN (SELECT id FROM "  # noqa: S608
    f"audit_pending ORDER BY id LIMIT %(limit)s) RETURNING {_PENDING_COLUMNS}",
)
_LINK_OPENING = "BEGIN; " + "; ".join(_LINK_STATEMENTS)
_TRY_LOCK = text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY_SQL})")  # noqa: S608 - constant text


def link_batch(audit: SqlAuditLog, limit: int = BATCH) -> int:
    """Link up to ``limit`` pending events into the chain in one transaction; return how many (0
    when none is pending or another process is linking)."""
    db = audit.db
    with db.connect() as conn:  # one cheap read first: most rounds of an idle replica end here
        if not conn.execute(_ANY_PENDING).scalar():
            return 0
    if db.dialect == "postgresql":
        linked = _link_postgresql(audit, limit)
        if linked is not None:
            return linked
    with db.transaction() as conn:
        if db.dialect == "postgresql" and not conn.execute(_TRY_LOCK).scalar():
            return 0
        last_seq, last_hash = lock_head(conn)
        pending = conn.execute(_PENDING.limit(limit)).mappings().all()
        if not pending:
            return 0
        fields = [{name: value for name, value in row.items() if name != "id"} for row in pending]
        rows = audit.chain_rows(fields, last_seq, last_hash, datetime.now(UTC))
        conn.execute(_INSERT_EVENT, rows)
        conn.execute(delete(audit_pending).where(audit_pending.c.id.in_([row["id"] for row in pending])))
        conn.execute(_MOVE_HEAD, _head_values(rows))
    return len(rows)


def _link_postgresql(audit: SqlAuditLog, limit: int) -> int | None:
    """:func:`link_batch` in two round trips (None: the head row does not exist yet, take the other
    path). First message: BEGIN, the advisory lock, the head lock and tip read (gated on the advisory
    lock, which is re-entrant), and the pending rows taken with DELETE ... RETURNING (gated alike;
    each statement takes its snapshot when it runs, after the locks before it are granted). Second:
    the events' INSERT, the head move and COMMIT, or ROLLBACK when there is nothing to link."""
    with audit.db.connect() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with psycopg.ClientCursor(driver) as cur:
                cur.execute(_LINK_OPENING, {"limit": limit})
                cur.nextset()  # past BEGIN's result
                locked = bool(_one(cur)[0])
                cur.nextset()
                head = cur.fetchone()
                cur.nextset()
                newest = cur.fetchone()
                cur.nextset()
                names = [column.name for column in cur.description or ()]
                pending = sorted((dict(zip(names, values, strict=True)) for values in cur.fetchall()),
                                 key=lambda row: int(row["id"]))
                if not (locked and pending and head is not None):
                    cur.execute("ROLLBACK")  # the rows taken go back; another sequencer links them
                    return None if locked and pending else 0
                fields = [{name: value for name, value in row.items() if name != "id"} for row in pending]
                rows = audit.chain_rows(fields, *_chain_tip(head, newest), datetime.now(UTC))
                cur.execute(_WRITING[True, True], _batch_params(rows, True))
        except BaseException:
            _after_failure(conn, driver, own=True)
            raise
    return len(rows)


def _one(cur: psycopg.ClientCursor[Any]) -> Any:
    row = cur.fetchone()
    assert row is not None
    return row


def link_all(audit: SqlAuditLog, limit: int = BATCH) -> int:
    """Link batches until fewer than ``limit`` were pending; return how many were linked."""
    total = 0
    while True:
        linked = link_batch(audit, limit)
        total += linked
        if linked < limit:
            return total


def oldest_unlinked(db: Database) -> tuple[int, datetime | None]:
    """How many events are pending, and when the oldest of them occurred (None when none is)."""
    with db.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(audit_pending.c.occurred_at))).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest


class Sequencer:
    """A thread linking pending events: woken by each local commit of staged events, and every
    ``interval`` seconds in any case (events staged by other processes, or left by a dead one)."""

    def __init__(self, audit: SqlAuditLog, *, interval: float = 0.2) -> None:
        self.audit = audit
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sequencer", daemon=True)

    def start(self) -> Sequencer:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Link what is pending once more, then end the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        keep_connection_in_this_thread()
        while True:  # after stop(), one last round
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                link_all(self.audit)
            except Exception:  # noqa: BLE001 - retried next round; verify raises the alarm if it lasts
                log.exception("linking audit events failed")
            if self._stop.is_set():
                return


def start_sequencer(audit: SqlAuditLog, *, interval: float = 0.2) -> Sequencer:
    """Stage this log's events unlinked from now on, and link them (and any other process's)."""
    sequencer = Sequencer(audit, interval=interval)
    audit.sequenced = True
    audit.on_staged = sequencer.wake
    return sequencer.start()


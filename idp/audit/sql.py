"""The SQL audit log: hash-chained events, appended inside a transaction or group-committed.

Two ways in (:meth:`SqlAuditLog.record` picks by whether the caller is in a transaction):

- Inside the caller's ``db.transaction()``: the event commits or rolls back with the state change
  it describes. Used for rare events whose record must not be lost if the change commits: the
  revocations (refresh-token reuse, code replay, revoke, logout, a refused refresh) and
  administration. It locks the chain head until that transaction ends.
- Outside a transaction, with batching on (servers): the event goes to the group-commit writer
  (:mod:`idp.audit.batching`), which appends many events in one short transaction; the caller
  waits until its event is committed. The hot events take this way *after* their state has
  committed in its own short transaction (``token.issued``/``token.refreshed`` after the refresh
  token row, see ``Provider.save_token``; ``signin`` and ``code.issued`` have no durable state of
  their own). The response is sent only once the event is committed, so no token leaves the server
  without its durable event; the trade-off is that a crash between the two commits leaves a stored
  refresh token that was never handed out, with no event. Requests never hold the head lock.

With ``sequenced`` on (servers with ``IDP_AUDIT_SEQUENCER``), :meth:`SqlAuditLog.record` takes neither
way: it stages the event unlinked in ``audit_pending`` (:meth:`SqlAuditLog.stage`), in the ambient
transaction or group-committed, and :mod:`idp.audit.sequencer` links it later (docs/audit.md).

Writers serialise on the chain-head row (``audit_chain``, id 1): PostgreSQL locks it with
``SELECT ... FOR UPDATE`` until the transaction ends (a lock, not a row write); SQLite transactions
start with ``BEGIN IMMEDIATE`` and so hold the write lock already. Under that lock the writer takes
the chain tip (last seq, last hash) from the newest event row when it is ahead of the head row,
else from the head row. Sequence numbers are therefore gap-free (a rolled-back transaction rolls
back its events) and each event's ``prev_hash`` is the hash of the event committed just before it,
whatever the number of processes. Record an inline event late in its transaction: the head row
stays locked until commit.

The head row itself is moved (one UPDATE) only when the transaction writes a signed checkpoint, or
when ``head_interval`` seconds (``IDP_AUDIT_HEAD_INTERVAL_SECONDS``; 0 = every transaction) have
passed since this log instance last moved it; so it may lag the newest event by up to that long.
What this gives up: removing the newest events written since the head last moved is not detectable
from the head. It never was against someone who can also rewrite the head, which is unsigned;
the signed checkpoints (:mod:`idp.audit.checkpoints`) remain the anchor of the chain, and removing
events at or before the head (or before a checkpoint) is still reported by ``idp audit verify``.

Round trips on PostgreSQL (each costs this process a send, a poll and a receive, whatever the
batch size): an append is two messages of the simple query protocol, sent on the psycopg connection
under the SQLAlchemy one. The first carries BEGIN (when the append has a transaction of its own),
the head lock and the tip read: still two statements, run by the server in that order, so under
READ COMMITTED the tip read takes its snapshot after the lock is granted. The second carries the
whole batch as one INSERT (the rows as one JSON parameter), the head move when due and the COMMIT.
Their text is built once; psycopg binds the values client-side (``ClientCursor``: quoted by the
driver, never pasted in by us). SQLite, which has no round trips, takes the same steps through
SQLAlchemy.

Signed checkpoints (every ``checkpoint_interval`` events) are signed while the rows are built,
under the head lock, and travel in the row of the event they sign (its ``checkpoint`` column,
outside the hashed fields): a batch that reaches one writes no row more and takes no round trip
more; it moves the head.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import JSON, ClauseElement, Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from idp.audit.batching import AuditBatcher
from idp.audit.chain import GENESIS, json_safe, row_hash, utc_ms
from idp.audit.checkpoints import Checkpointer
from idp.audit.context import IpTruncation, hash_session_id
from idp.audit.events import AuditEvent
from idp.storage.db import Database, driver_call_bound
from idp.storage.schema import audit_chain, audit_events, audit_pending

HEAD_ID = 1
log = logging.getLogger(__name__)
#: Called with the events just written (see :mod:`idp.observability.events`); it must not raise.
EventObserver = Callable[[Sequence[AuditEvent]], None]
# Built once: statements with bound parameters keep SQLAlchemy's per-call work (cache keys) small.
_INSERT_EVENT = audit_events.insert()
_STAGE_EVENT = audit_pending.insert()
_MOVE_HEAD = (update(audit_chain).where(audit_chain.c.id == HEAD_ID)
              .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash")))
_LOCK_HEAD = (select(audit_chain.c.last_seq, audit_chain.c.last_hash)
              .where(audit_chain.c.id == HEAD_ID).with_for_update())
# Served by the primary key (seq) read backwards: one index probe whatever the table's size. It must
# stay a statement of its own, run after the head lock is granted: under READ COMMITTED a subquery in
# the locking SELECT would read the snapshot taken before the wait and miss the events committed by
# the writer it waited for (a duplicate seq; the concurrent writer tests catch it).
_NEWEST_EVENT = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
_PG = PGDialect_psycopg()


def _pg_text(statement: ClauseElement, *, literal_binds: bool = False) -> str:
    return str(statement.compile(dialect=_PG, compile_kwargs={"literal_binds": literal_binds}))


def _batch_insert(table: Table, skip: frozenset[str] = frozenset()) -> str:
    """One INSERT of any number of rows, of fixed text: the rows travel as one JSON array of objects
    (``%(rows)s``) typed by the table's column types. A JSON column's value travels as its JSON text
    (a string, cast back): PostgreSQL refuses ``\\u0000`` in the text it unpacks, not in JSON values."""
    names, fields, values = [], [], []
    for column in table.columns:
        if column.name in skip:  # filled by the database (a serial id)
            continue
        name, sql_type = _PG.identifier_preparer.quote(column.name), column.type.compile(dialect=_PG)
        is_json = isinstance(column.type, JSON)
        names.append(name)
        fields.append(f"{name} {'TEXT' if is_json else sql_type}")
        values.append(f"{name}::{sql_type}" if is_json else name)
    return (f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(values)} "  # noqa: S608 - schema names only
            f"FROM json_to_recordset(%(rows)s) AS batch({', '.join(fields)})")


# PostgreSQL's two messages (see the module docstring), built once. First: [BEGIN;] lock; tip read.
_LOCK_AND_READ_TIP = f"{_pg_text(_LOCK_HEAD, literal_binds=True)}; {_pg_text(_NEWEST_EVENT, literal_binds=True)}"
_OPENING = {True: f"BEGIN; {_LOCK_AND_READ_TIP}", False: _LOCK_AND_READ_TIP}
# Second: INSERT[; head move][; COMMIT], by (move the head, commit).
_MOVE_HEAD_SQL = _pg_text(_MOVE_HEAD)
_MOVE_HEAD_FIXED = {k: v for k, v in _MOVE_HEAD.compile(dialect=_PG).params.items() if v is not None}
_INSERT_BATCH = _batch_insert(audit_events)
_STAGE_BATCH = _batch_insert(audit_pending, skip=frozenset({"id"}))  # one statement: atomic in autocommit
_JSON_COLUMNS = tuple(column.name for column in audit_events.columns if isinstance(column.type, JSON))
_WRITING = {
    (move, commit): "; ".join([_INSERT_BATCH] + [_MOVE_HEAD_SQL] * move + ["COMMIT"] * commit)
    for move in (False, True) for commit in (False, True)
}
_LIMITS = {"type": 64, "outcome": 16, "subject": 255, "username": 255, "client_id": 255, "adapter": 128,
           "acr": 255, "user_agent": 512, "request_id": 128, "reason": 128}


class SqlAuditLog:
    """:class:`~idp.audit.events.AuditLog` over the ``audit_events`` table of the durable store."""

    def __init__(
        self,
        db: Database,
        *,
        ip_truncation: IpTruncation | str = "none",
        checkpointer: Checkpointer | None = None,
        checkpoint_interval: int = 1000,
        head_interval: float = 1.0,
        observer: EventObserver | None = None,
    ) -> None:
        self.db = db
        self.observer = observer
        self.ip_truncation = (
            IpTruncation.parse(ip_truncation) if isinstance(ip_truncation, str) else ip_truncation
        )
        self.checkpointer = checkpointer
        self.checkpoint_interval = checkpoint_interval
        self.head_interval = head_interval
        self.batcher: AuditBatcher | None = None
        # Sequenced (servers with IDP_AUDIT_SEQUENCER): events are staged unlinked in
        # ``audit_pending`` and linked by idp.audit.sequencer; ``on_staged`` is told after each commit.
        self.sequenced = False
        self.on_staged: Callable[[], None] | None = None
        self._head_moved_at: float | None = None  # time.monotonic() when this instance last moved it

    def record(self, event: AuditEvent) -> None:
        """Append the event in the ambient transaction; outside one, in a transaction of its own
        (shared with other standalone events when batching is on). Return once it is committed (or,
        inside a transaction, written to it); raise when it cannot."""
        if self.batcher is not None and not self.db.in_transaction():
            self.batcher.submit(event)
        elif self.sequenced:
            self.stage([event])
        else:
            self.append(event)

    def stage(self, events: Sequence[AuditEvent]) -> None:
        """Insert the events unlinked into ``audit_pending``, in the ambient transaction (they commit
        or roll back with the change they describe) or else in one of their own: no head lock, no
        hash. The sequencer links them (:mod:`idp.audit.sequencer`)."""
        now = datetime.now(UTC)
        rows = [self.fields(event, now) for event in events]
        ambient = self.db.in_transaction()
        if self.db.dialect == "postgresql" and not ambient:
            with self.db.connect() as conn:  # autocommit: one statement, one round trip, no BEGIN/COMMIT
                _stage_postgresql(conn, rows)
        else:
            with self.db.transaction() as conn:
                conn.execute(_STAGE_EVENT, rows)
        self._observe(events)
        if not ambient and self.on_staged is not None:
            self.on_staged()

    def enable_batching(self) -> None:
        """Group-commit standalone events from a writer thread (servers; the CLI writes inline)."""
        if self.batcher is None:
            self.batcher = AuditBatcher(self.append_many)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
            self.batcher = None

    def append_many(self, events: list[AuditEvent]) -> None:
        """Append several events, in order, in one transaction (staged unlinked when sequenced)."""
        if self.sequenced:
            self.stage(events)
        else:
            self._append(events)

    def append(self, event: AuditEvent) -> dict[str, Any]:
        """Like :meth:`record`, returning the stored row (with its ``seq`` and ``hash``)."""
        return self._append([event])[0]

    def _append(self, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
        """Append the events in order in the ambient transaction, else in one of their own."""
        if self.db.dialect == "postgresql":
            own = not self.db.in_transaction()
            with self.db.connect() as conn:  # own: an autocommit connection; BEGIN and COMMIT are ours
                rows = self._append_postgresql(conn, events, own=own)
        else:
            with self.db.transaction() as conn:
                rows = self._rows(events, *lock_head(conn))
                conn.execute(_INSERT_EVENT, rows)
                self._after_insert(conn, rows)
        self._observe(events)
        return rows

    def _observe(self, events: Sequence[AuditEvent]) -> None:
        """Hand the written events to the observer (logs and metrics); its failure is logged, never
        the audit write's. An event written inside a caller's transaction is observed when written."""
        if self.observer is None:
            return
        try:
            self.observer(events)
        except Exception:  # noqa: BLE001 - a log or metric must not fail the audited change
            log.exception("observing audit events failed")

    def _append_postgresql(self, conn: Connection, events: Sequence[AuditEvent], *,
                           own: bool) -> list[dict[str, Any]]:
        """:meth:`_append` in two round trips (see the module docstring); ``own``: the connection is
        in autocommit mode and the transaction is opened and committed here."""
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with driver_call_bound(conn), psycopg.ClientCursor(driver) as cur:
                cur.execute(_OPENING[own])
                if own:
                    cur.nextset()  # past BEGIN's result
                rows = self._rows(events, *_read_tip(conn, cur))
                move = self._head_move_due(checkpointed=_signs_checkpoint(rows))
                cur.execute(_WRITING[move, own], _batch_params(rows, move))
        except BaseException:
            _after_failure(conn, driver, own=own)
            raise
        return rows

    def _rows(self, events: Sequence[AuditEvent], last_seq: int, last_hash: str) -> list[dict[str, Any]]:
        """The rows of the events, chained after the tip (last seq, last hash); a row whose seq is
        due a checkpoint carries it, signed over its seq and hash (``checkpoint``, else None)."""
        now = datetime.now(UTC)
        return self.chain_rows([self.fields(event, now) for event in events], last_seq, last_hash, now)

    def _after_insert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Move the head to the last row when a row carries a checkpoint or the head interval has
        passed (see the module docstring)."""
        if self._head_move_due(checkpointed=_signs_checkpoint(rows)):
            conn.execute(_MOVE_HEAD, _head_values(rows))

    def _head_move_due(self, *, checkpointed: bool) -> bool:
        """Whether this transaction moves the head row; when it does, note the time of the move."""
        now = time.monotonic()
        moved = self._head_moved_at
        if checkpointed or moved is None or now - moved >= self.head_interval:
            # Set before commit: a rolled-back transaction only delays the next move by one interval.
            self._head_moved_at = now
            return True
        return False

    def recent_signins(self, subject_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The person's own latest successful sign-ins (see :func:`idp.audit.query.recent_signins`)."""
        from idp.audit.query import recent_signins

        return recent_signins(self.db, subject_id, limit)

    def _row(self, event: AuditEvent, seq: int, prev_hash: str, now: datetime) -> dict[str, Any]:
        return chain_row(self.fields(event, now), seq, prev_hash)

    def fields(self, event: AuditEvent, now: datetime) -> dict[str, Any]:
        """The event's stored fields before it is linked (no seq, prev_hash, hash or checkpoint)."""
        ctx = event.context
        row: dict[str, Any] = {
            "occurred_at": utc_ms(now),
            "type": event.type,
            "outcome": event.outcome,
            "subject": event.subject,
            "username": event.username,
            "client_id": event.client_id,
            "adapter": event.adapter,
            "acr": event.acr,
            "amr": [str(m)[:64] for m in event.amr] if event.amr is not None else None,
            "ip": self.ip_truncation.apply(ctx.ip),
            "user_agent": ctx.user_agent,
            "session_hash": hash_session_id(ctx.session_id),
            "request_id": ctx.request_id,
            "reason": event.reason,
            "details": json_safe(event.details),
        }
        for name, limit in _LIMITS.items():
            if row[name] is not None:
                row[name] = str(row[name]).replace("\x00", "")[:limit]
        if not row["type"]:
            raise ValueError("an audit event needs a type")
        return row

    def chain_rows(self, fields: Sequence[dict[str, Any]], last_seq: int, last_hash: str,
                   now: datetime) -> list[dict[str, Any]]:
        """Event rows linked after the tip (last seq, last hash), in the order given; a row whose seq
        is due a checkpoint carries it, signed over its seq and hash (``checkpoint``, else None)."""
        interval = self.checkpoint_interval if self.checkpointer is not None else 0
        rows = []
        for unlinked in fields:
            row = chain_row(unlinked, last_seq + 1, last_hash)
            if interval > 0 and row["seq"] % interval == 0:
                assert self.checkpointer is not None
                row["checkpoint"] = self.checkpointer.signature(row["seq"], row["hash"], now)
            rows.append(row)
            last_seq, last_hash = row["seq"], row["hash"]
        return rows


def chain_row(fields: dict[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """The event row of unlinked ``fields`` at ``seq`` after ``prev_hash``, with its hash."""
    row = {"seq": seq, **fields, "prev_hash": prev_hash, "checkpoint": None}
    row["hash"] = row_hash(row)
    return row


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for the rest of the transaction; return the chain tip (last seq, last
    hash): the newest event when it is ahead of the head row, else the head row."""
    row = conn.execute(_LOCK_HEAD).first()
    if row is None:
        insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(audit_chain)
            .values(id=HEAD_ID, last_seq=0, last_hash=GENESIS, pruned_through=0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = conn.execute(_LOCK_HEAD).first()
        assert row is not None
    return _chain_tip(row, conn.execute(_NEWEST_EVENT).first())


def _read_tip(conn: Connection, cur: psycopg.ClientCursor[Any]) -> tuple[int, str]:
    """The chain tip from the results of the head lock and the tip read (see :func:`lock_head`)."""
    head = cur.fetchone()
    cur.nextset()
    newest = cur.fetchone()
    if head is None:  # the first write of a new database: create the head row, as lock_head does
        return lock_head(conn)
    return _chain_tip(head, newest)


def _stage_postgresql(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert unlinked rows as one statement of fixed text (the rows as one JSON parameter)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver_call_bound(conn), psycopg.ClientCursor(driver) as cur:
            cur.execute(_STAGE_BATCH, {"rows": json.dumps([_json_row(row) for row in rows])})
    except BaseException:
        _after_failure(conn, driver, own=False)
        raise


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as ``_batch_insert``'s statements take it: the time in ISO form, JSON columns as text."""
    return {**row, "occurred_at": row["occurred_at"].isoformat(),
            **{name: json.dumps(row[name]) for name in _JSON_COLUMNS}}


def _after_failure(conn: Connection, driver: psycopg.Connection[Any], *, own: bool) -> None:
    """Roll back the append's own transaction; invalidate a connection found broken (SQLAlchemy did
    not see the failure, so would hand it out again: to the pool, or to the thread that keeps it)."""
    if own and not (driver.broken or driver.closed):
        with contextlib.suppress(psycopg.Error):
            driver.rollback()
    if driver.broken or driver.closed:
        conn.invalidate()


def _chain_tip(head: Sequence[Any], newest: Sequence[Any] | None) -> tuple[int, str]:
    """(seq, hash) of the newest event when it is ahead of the head row, else of the head row."""
    row = newest if newest is not None and int(newest[0]) > int(head[0]) else head
    return int(row[0]), str(row[1])


def _signs_checkpoint(rows: list[dict[str, Any]]) -> bool:
    return any(row["checkpoint"] is not None for row in rows)


def _head_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"new_seq": rows[-1]["seq"], "new_hash": rows[-1]["hash"]}


def _batch_params(rows: list[dict[str, Any]], move_head: bool) -> dict[str, Any]:
    """The parameters of ``_WRITING``: the rows (JSON columns as their JSON text, None as JSON null
    as SQLAlchemy stores it), and the head move's when it is in."""
    batch = [_json_row(row) for row in rows]
    params: dict[str, Any] = {"rows": json.dumps(batch)}
    if move_head:
        params.update(_MOVE_HEAD_FIXED, **_head_values(rows))
    return params


def read_head(conn: Connection) -> tuple[int, str, int] | None:
    """(last seq, last hash, pruned through) without locking, or None before the first event."""
    row = conn.execute(
        select(audit_chain.c.last_seq, audit_chain.c.last_hash, audit_chain.c.pruned_through)
        .where(audit_chain.c.id == HEAD_ID)
    ).first()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None

"""On PostgreSQL an append costs two round trips, whatever the batch size; what it stores is what
the SQLAlchemy path stored (the chain verifies, JSON None is JSON null).

Round trips are counted on the wire: libpq's protocol trace of the connections used, where each turn
from messages sent (``F``) to messages received (``B``) is one wait for the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import func, select, text

from idp.audit.events import AuditContext, AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.db import keep_connection_in_this_thread
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage
from tests.conftest import POSTGRES_URL
from tests.unit.audit.conftest import CheckpointKey, signin
from tests.wire import WireTrace, wire_trace


def in_thread(work: Callable[[], object], *, keeps: bool) -> None:
    """Run ``work`` in a new thread that keeps its connection or checks one out per use; re-raise."""
    failures: list[BaseException] = []

    def run() -> None:
        if keeps:
            keep_connection_in_this_thread()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@pytest.mark.parametrize("keeps", [True, False], ids=["kept-connection", "pooled"])
@pytest.mark.parametrize("head_interval", [0.0, 3600.0], ids=["with-head-move", "without-head-move"])
@pytest.mark.parametrize("size", [1, 20])
def test_a_batch_is_two_round_trips(pg_storage: SqlStorage, size: int, head_interval: float, keeps: bool) -> None:
    log = SqlAuditLog(pg_storage.db, head_interval=head_interval)
    log.append_many([signin(0)])  # creates the head row (the first write of a database takes more)
    trace = WireTrace()

    def write() -> None:
        nonlocal trace
        with wire_trace(pg_storage) as trace:
            log.append_many([signin(n) for n in range(1, size + 1)])

    in_thread(write, keeps=keeps)
    assert trace.round_trips == 2
    report = verify_chain(pg_storage.db)
    assert report.ok, report.problem
    assert report.last_seq == size + 1


def test_an_event_inside_a_transaction_is_two_more_round_trips(pg_storage: SqlStorage) -> None:
    log = SqlAuditLog(pg_storage.db, head_interval=3600)
    log.append(signin(0))
    with pg_storage.db.transaction() as conn:
        conn.execute(text("SELECT 1"))  # the state change the event describes comes first
        with wire_trace(pg_storage) as trace:
            row = log.append(signin(1))
    assert trace.round_trips == 2
    assert row["seq"] == 2
    assert verify_chain(pg_storage.db).ok


def test_a_kept_connection_the_server_dropped_under_an_append_is_replaced(pg_storage: SqlStorage) -> None:
    """The failure is psycopg's, which SQLAlchemy does not see: the append invalidates the connection,
    or the thread would keep it (a pooled one is discarded by its reset on checkin anyway)."""
    log = SqlAuditLog(pg_storage.db)
    log.append(signin(0))

    def work() -> None:
        with pg_storage.db.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            log.append_many([signin(1)])
        log.append_many([signin(2)])

    in_thread(work, keeps=True)
    report = verify_chain(pg_storage.db)
    assert report.ok, report.problem
    assert (report.events, report.last_seq) == (2, 2)


def test_a_batch_reaching_a_checkpoint_commits_it_with_the_events(
        pg_storage: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    from idp.audit.checkpoints import Checkpointer

    log = SqlAuditLog(pg_storage.db, checkpointer=Checkpointer(checkpoint_key.sign), checkpoint_interval=4,
                      head_interval=3600)
    log.append_many([signin(n) for n in range(6)])
    with pytest.raises(ValueError):
        log.append_many([signin(6), signin(7), AuditEvent(type="")])  # refused after the lock: rolled back
    log.append_many([signin(n) for n in range(8, 11)])
    report = verify_chain(pg_storage.db, checkpoint_key.verifier())
    assert report.ok, report.problem
    assert (report.events, report.last_seq, report.checkpoints) == (9, 9, 2)


def test_values_are_stored_as_given(storage: SqlStorage) -> None:
    """Quotes, backslashes, percent signs, JSON-looking text, non-ASCII and NUL in JSON values travel
    intact through the client-side binding of the PostgreSQL path, and None in a JSON column is JSON
    null there as on SQLite."""
    awkward = "O'Brien \\ \"%s\" %(rows)s '); DROP TABLE audit_events; -- null {}[] Nguyễn Văn Ấn 🙂"
    details = {"note": awkward, "nul": "a\x00b", "n": 1.5, "list": [None, True], "nested": {"k": "null"}}
    ctx = AuditContext(ip="2001:db8::1", user_agent=awkward, request_id="r%d", session_id=awkward)
    events = [
        AuditEvent(type="signin", username=awkward, reason="x" * 300, context=ctx,
                   amr=("pwd\x00",), details=details),
        AuditEvent(type="token.issued", client_id="portal"),  # amr None, details empty
    ]
    log = SqlAuditLog(storage.db)
    log.append_many(events)
    with storage.db.transaction():
        log.append(events[0])
    with storage.db.connect() as conn:
        stored = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings().all()
        sql_nulls = conn.execute(select(func.count()).select_from(audit_events)
                                 .where(audit_events.c.amr.is_(None))).scalar_one()
    assert [row["username"] for row in stored] == [awkward, None, awkward]
    assert stored[0]["user_agent"] == awkward and stored[0]["ip"] == "2001:db8::1"
    assert (stored[0]["details"], stored[0]["amr"]) == (details, ["pwd\x00"])
    assert stored[0]["reason"] == "x" * 128
    assert (stored[1]["amr"], stored[1]["details"]) == (None, {})
    assert sql_nulls == 0  # stored as JSON null, as SQLAlchemy stores None in a JSON column
    report = verify_chain(storage.db)
    assert report.ok, report.problem

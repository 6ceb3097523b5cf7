"""Events staged unlinked with their work, linked into one chain by the sequencer (idp.audit.sequencer).

On SQLite and PostgreSQL: staged events commit or roll back with the change they describe, are
invisible to the chain until linked, and once linked verify like any other (checkpoints signed,
tampering found). On PostgreSQL: an id that commits after a higher one is linked at the next round,
not lost; two processes staging and sequencing at once leave one chain.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from idp.audit.checkpoints import Checkpointer
from idp.audit.sequencer import link_all, link_batch, oldest_unlinked, start_sequencer
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.migrate import upgrade
from idp.storage.schema import audit_events, audit_pending
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin
from tests.unit.audit.test_concurrent_writers import ROOT
from tests.unit.audit.test_round_trips import in_thread
from tests.wire import WireTrace, wire_trace

PER_WRITER = 120


def sequenced(log: SqlAuditLog) -> SqlAuditLog:
    """The log staging its events, with no sequencer thread: the test links when it chooses."""
    log.sequenced = True
    return log


def linked_names(storage: SqlStorage) -> list[str]:
    with storage.db.connect() as conn:
        return list(conn.execute(select(audit_events.c.username).order_by(audit_events.c.seq)).scalars())


def pending_count(storage: SqlStorage) -> int:
    with storage.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_pending)).scalar_one())


def test_staged_events_commit_with_their_change_and_link_into_a_verified_chain(
        storage: SqlStorage, audit_log: SqlAuditLog, checkpoint_key: CheckpointKey) -> None:
    log = sequenced(audit_log)
    log.record(signin(0))  # its own transaction
    with pytest.raises(RuntimeError), storage.db.transaction():
        log.record(signin(1))
        raise RuntimeError("the change fails: its event goes with it")
    with storage.db.transaction():
        log.record(signin(2))
        log.record(signin(3))
    log.append_many([signin(4), signin(5)])  # what the batcher hands over
    assert linked_names(storage) == [] and pending_count(storage) == 5  # durable, not linked yet

    assert link_all(log, limit=2) == 5  # in batches of two
    assert linked_names(storage) == ["u0", "u2", "u3", "u4", "u5"]
    assert pending_count(storage) == 0
    report = verify_chain(storage.db, checkpoint_key.verifier(), link_alarm_seconds=10)
    assert report.ok, report.problem
    assert (report.events, report.checkpoints) == (5, 1)  # signed at seq 4 by the sequencer


def test_tampering_with_linked_events_is_still_found(storage: SqlStorage, audit_log: SqlAuditLog,
                                                     checkpoint_key: CheckpointKey) -> None:
    log = sequenced(audit_log)
    log.append_many([signin(n) for n in range(6)])
    link_all(log)
    execute(storage, "UPDATE audit_events SET username = 'someone-else' WHERE seq = 2")
    report = verify_chain(storage.db, checkpoint_key.verifier())
    assert report.problem is not None and (report.problem.seq, report.problem.kind) == (2, "altered")


def test_verify_fails_on_events_left_unlinked_past_the_alarm(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    log = sequenced(audit_log)
    log.record(signin(0))
    assert verify_chain(storage.db, link_alarm_seconds=10).ok  # just staged: within the alarm
    with storage.db.transaction() as conn:
        conn.execute(update(audit_pending).values(occurred_at=datetime.now(UTC) - timedelta(seconds=30)))
    report = verify_chain(storage.db, link_alarm_seconds=10)
    assert report.problem is not None and report.problem.kind == "unlinked"
    assert "1 event(s) not linked" in str(report.problem) and "chưa được liên kết" in str(report.problem)
    link_all(log)
    assert verify_chain(storage.db, link_alarm_seconds=10).ok
    assert oldest_unlinked(storage.db) == (0, None)


def test_the_sequencer_thread_links_what_a_process_stages(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    sequencer = start_sequencer(audit_log, interval=5)  # woken by each commit, not by the interval
    try:
        audit_log.record(signin(0))
        deadline = time.monotonic() + 10
        while linked_names(storage) != ["u0"]:
            assert time.monotonic() < deadline, "the sequencer did not link the staged event"
            time.sleep(0.01)
    finally:
        sequencer.stop()


def test_a_lower_id_committing_after_a_higher_one_is_linked_next_round(pg_storage: SqlStorage) -> None:
    log = sequenced(SqlAuditLog(pg_storage.db))
    late = pg_storage.db.engine.connect()
    try:
        late.begin()
        late.execute(audit_pending.insert(), log.fields(signin(0), datetime.now(UTC)))  # takes id 1, uncommitted
        log.record(signin(1))  # id 2, committed
        assert link_all(log) == 1
        late.commit()
        assert link_all(log) == 1
    finally:
        late.close()
    assert linked_names(pg_storage) == ["u1", "u0"]
    assert verify_chain(pg_storage.db).ok


def test_another_process_holding_the_sequencer_lock_makes_this_one_wait(pg_storage: SqlStorage) -> None:
    log = sequenced(SqlAuditLog(pg_storage.db))
    log.record(signin(0))
    from idp.audit.sequencer import LOCK_KEY_SQL

    with pg_storage.db.engine.connect() as other:
        other.begin()
        assert other.execute(text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY_SQL})")).scalar()
        assert link_all(log) == 0
        other.rollback()  # its holder gone, the lock is free
    assert link_all(log) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_staging_and_sequencing_at_once_leave_one_chain(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = (f"sqlite:///{tmp_path / 'idp.sqlite3'}" if backend == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    storage = SqlStorage.open(url)
    upgrade(storage.db.engine)
    start = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-m", "tests.unit.audit.writer_process", url, name,
                                 str(PER_WRITER), str(start), "sequenced"], cwd=ROOT) for name in ("a", "b")]
    deadline = time.monotonic() + 60
    while not all(Path(f"{start}.{n}.ready").exists() for n in ("a", "b")):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), "writers did not start"
        time.sleep(0.01)
    start.touch()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    # A writer's last round finds the lock held by the other now and then: what it leaves pending
    # is linked by the next sequencer, here the test's.
    assert pending_count(storage) < PER_WRITER
    link_all(SqlAuditLog(storage.db))
    with storage.db.connect() as conn:
        stored = conn.execute(select(audit_events.c.seq, audit_events.c.details).order_by(audit_events.c.seq)).all()
    assert [seq for seq, _ in stored] == list(range(1, 2 * PER_WRITER + 1))
    writers_seen = [details["writer"] for _, details in stored]
    assert writers_seen.count("a") == writers_seen.count("b") == PER_WRITER
    assert sum(1 for x, y in zip(writers_seen, writers_seen[1:], strict=False) if x != y) > 2
    assert pending_count(storage) == 0
    assert verify_chain(storage.db, link_alarm_seconds=10).ok
    storage.close()


@pytest.mark.parametrize("keeps", [True, False], ids=["kept-connection", "pooled"])
@pytest.mark.parametrize("size", [1, 20])
def test_staging_a_batch_is_one_round_trip_and_one_inside_a_transaction(pg_storage: SqlStorage, size: int,
                                                                        keeps: bool) -> None:
    """The request path: no head lock, no tip read, no BEGIN/COMMIT of its own."""
    log = sequenced(SqlAuditLog(pg_storage.db))
    trace = WireTrace()

    def stage() -> None:
        nonlocal trace
        with wire_trace(pg_storage) as trace:
            log.append_many([signin(n) for n in range(size)])

    in_thread(stage, keeps=keeps)
    assert trace.round_trips == 1
    with pg_storage.db.transaction() as conn:
        conn.execute(text("SELECT 1"))  # the state change the event describes comes first
        with wire_trace(pg_storage) as inside:
            log.record(signin(size))
    assert inside.round_trips == 1
    assert link_all(log) == size + 1
    assert linked_names(pg_storage) == [f"u{n}" for n in range(size + 1)]
    assert verify_chain(pg_storage.db).ok


@pytest.mark.parametrize("size", [1, 50])
def test_linking_a_batch_is_three_round_trips_and_an_idle_round_one(pg_storage: SqlStorage, size: int,
                                                                     checkpoint_key: CheckpointKey) -> None:
    """Whatever the batch: is anything pending; BEGIN, locks, tip and the pending rows taken; the
    events, the head and COMMIT. A checkpoint signed on the way costs no round trip."""
    log = sequenced(SqlAuditLog(pg_storage.db, checkpointer=Checkpointer(checkpoint_key.sign), checkpoint_interval=4))
    log.record(signin(0))
    link_all(log)  # the first link creates the head row (another path)
    log.append_many([signin(n) for n in range(1, size + 1)])
    with wire_trace(pg_storage) as trace:
        assert link_batch(log) == size
    assert trace.round_trips == 3
    with wire_trace(pg_storage) as idle:
        assert link_batch(log) == 0
    assert idle.round_trips == 1
    assert linked_names(pg_storage) == [f"u{n}" for n in range(size + 1)]
    report = verify_chain(pg_storage.db, checkpoint_key.verifier())
    assert report.ok and report.checkpoints == (size + 1) // 4, report.problem


def test_the_observer_sees_each_event_when_it_is_staged(storage: SqlStorage) -> None:
    """The metrics and log lines (idp.observability.events) keep seeing every event written."""
    seen: list[str] = []
    log = sequenced(SqlAuditLog(storage.db, observer=lambda events: seen.extend(e.username or "" for e in events)))
    log.record(signin(0))
    with storage.db.transaction():
        log.record(signin(1))
    log.append_many([signin(2), signin(3)])
    assert seen == ["u0", "u1", "u2", "u3"]
    link_all(log)
    assert seen == ["u0", "u1", "u2", "u3"]  # linking does not count them twice

"""Group commit: standalone events from many threads share transactions, each caller returns only
once its event is committed, and the chain (with its checkpoints) stays one valid chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.schema import audit_checkpoints, audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, signin


def test_concurrent_standalone_events_share_commits_and_keep_the_chain(
        storage: SqlStorage, audit_log: SqlAuditLog, checkpoint_key: CheckpointKey) -> None:
    audit_log.enable_batching()
    barrier = threading.Barrier(40)

    def writer(n: int) -> None:
        barrier.wait()
        audit_log.record(signin(n))
        # Returned: the event is committed and visible to another connection.
        with storage.db.engine.connect() as conn:
            found = conn.execute(select(audit_events.c.seq).where(audit_events.c.username == f"u{n}")).first()
        assert found is not None

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit_log.close()
    with storage.db.engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq))]
        signed = [r[0] for r in conn.execute(select(audit_events.c.seq).where(audit_events.c.checkpoint.is_not(None)))]
        own_rows = conn.execute(select(func.count()).select_from(audit_checkpoints)).scalar()
    assert seqs == list(range(1, 41))
    assert sorted(signed) == list(range(4, 41, 4))  # every 4th event carries its checkpoint, in batches too
    assert own_rows == 0  # and writes no row of its own
    report = verify_chain(storage.db, checkpoint_key.verifier())
    assert report.ok, report.problem


def test_events_inside_a_transaction_are_written_in_it(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    audit_log.enable_batching()
    with pytest.raises(RuntimeError), storage.db.transaction():
        audit_log.record(signin(1))
        raise RuntimeError("the state change failed")
    audit_log.record(signin(2))
    audit_log.close()
    with storage.db.engine.connect() as conn:
        names = [r[0] for r in conn.execute(select(audit_events.c.username))]
    assert names == ["u2"]  # the rolled-back change took its event with it


def test_a_failed_batch_fails_its_callers(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    audit_log.enable_batching()
    from idp.audit.events import AuditEvent

    with pytest.raises(ValueError):
        audit_log.record(AuditEvent(type=""))  # refused: an event needs a type
    audit_log.record(signin(3))  # the writer lives on
    audit_log.close()

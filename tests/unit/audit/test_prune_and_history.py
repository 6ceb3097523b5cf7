"""Retention from a signed checkpoint (both databases), and a person's own sign-in history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from idp.audit.events import AuditContext, AuditEvent
from idp.audit.prune import PruneRefused, prune_before
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.clients.service import register_client
from idp.storage.schema import audit_checkpoints, audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin

FUTURE = datetime.now(UTC) + timedelta(days=1)


def test_prune_keeps_a_verifiable_chain(storage: SqlStorage, audit_log: SqlAuditLog,
                                        checkpoint_key: CheckpointKey) -> None:
    for n in range(6):
        audit_log.record(signin(n))
    result = prune_before(audit_log, FUTURE, actor="cli:root")
    assert (result.through_seq, result.deleted) == (6, 6)
    audit_log.record(signin(7))
    report = verify_chain(storage.db, checkpoint_key.verifier())
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq) == (7, 8)
    assert prune_before(audit_log, FUTURE - timedelta(days=2)).through_seq == 0  # nothing that old


def test_head_deleted_at_a_checkpoint_without_prune_is_caught(storage: SqlStorage, audit_log: SqlAuditLog,
                                                              checkpoint_key: CheckpointKey) -> None:
    for n in range(6):
        audit_log.record(signin(n))
    # an attacker imitates a prune: deletes seq 1-4 (4 has a checkpoint) and moves the horizon
    execute(storage, "DELETE FROM audit_events WHERE seq <= 4")
    execute(storage, "UPDATE audit_chain SET pruned_through = 4")
    problem = verify_chain(storage.db, checkpoint_key.verifier()).problem
    # the checkpoint at 4 went with its row: no anchor for the horizon the attacker set
    assert problem is not None and (problem.seq, problem.kind) == (4, "removed")
    assert "checkpoint the log was pruned at is missing" in problem.reason


def test_prune_without_any_signing_key_is_refused(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db)
    log.record(signin(1))
    with pytest.raises(PruneRefused, match="checkpoint"):
        prune_before(log, FUTURE)
    assert verify_chain(storage.db).events == 1


def test_recent_signins_are_the_persons_own_successes(storage: SqlStorage) -> None:
    register_client(storage, "portal", redirect_uris=["https://portal.example.vn/cb"], name="Cổng dịch vụ công")
    log = SqlAuditLog(storage.db)
    ctx = AuditContext(ip="203.0.113.9")
    log.record(AuditEvent(type="signin", subject="s1", client_id="portal", adapter="vneid", context=ctx))
    log.record(AuditEvent(type="signin", subject="s1", outcome="failure", client_id="portal"))
    log.record(AuditEvent(type="signin", subject="s2", client_id="portal"))
    log.record(AuditEvent(type="signin", subject="s1", client_id="gone", amr=("pwd", "otp")))
    history = log.recent_signins("s1")
    assert [(h["client_name"], h["method"]) for h in history] == [("gone", "pwd"), ("Cổng dịch vụ công", "vneid")]
    assert history[1]["ip"] == "203.0.113.9" and history[0]["time"] >= history[1]["time"]


def test_prune_at_a_checkpoint_in_its_event_row_keeps_it_as_the_anchor(storage: SqlStorage, audit_log: SqlAuditLog,
                                                                        checkpoint_key: CheckpointKey) -> None:
    """The periodic checkpoint lives in its event's row; pruning that row moves it to its own row."""
    for n in range(6):
        audit_log.record(signin(n))  # seq 4 carries the checkpoint
    unsigned = SqlAuditLog(storage.db)  # an operator without the signing key: only stored checkpoints
    result = prune_before(unsigned, FUTURE, actor="cli:root")
    assert (result.through_seq, result.deleted) == (4, 4)
    with storage.db.connect() as conn:
        anchors = conn.execute(select(audit_checkpoints.c.seq, audit_checkpoints.c.hash)).all()
        remaining = [r[0] for r in conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq))]
    assert [a[0] for a in anchors] == [4] and remaining == [5, 6, 7]
    report = verify_chain(storage.db, checkpoint_key.verifier())
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq, report.checkpoints) == (5, 7, 1)

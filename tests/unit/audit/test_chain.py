"""The hash chain on SQLite and PostgreSQL: appending, and `verify` naming the first tampered seq."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from idp.audit.chain import row_hash
from idp.audit.events import AuditContext, AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin


def rows(storage: SqlStorage) -> list[dict]:
    with storage.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()]


def test_events_get_gap_free_seq_and_link_to_the_previous_hash(storage: SqlStorage, audit_log: SqlAuditLog,
                                                               checkpoint_key: CheckpointKey) -> None:
    for n in range(6):
        audit_log.record(signin(n))
    stored = rows(storage)
    assert [r["seq"] for r in stored] == [1, 2, 3, 4, 5, 6]
    assert stored[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(stored, stored[1:], strict=False))
    assert stored[2]["username"] == "u2" and stored[2]["amr"] == ["pwd"]
    report = verify_chain(storage.db, checkpoint_key.verifier())
    assert report.ok, report.problem
    assert (report.events, report.last_seq, report.checkpoints) == (6, 6, 1)


def test_session_id_is_hashed_and_ip_truncated(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db, ip_truncation="24/48")
    log.record(AuditEvent(type="signin", context=AuditContext(ip="203.0.113.77", session_id="secret-sid")))
    log.record(AuditEvent(type="signin", context=AuditContext(ip="2001:db8:1:2::5")))
    first, second = rows(storage)
    assert first["ip"] == "203.0.113.0" and second["ip"] == "2001:db8:1::"
    assert first["session_hash"] and "secret-sid" not in first["session_hash"]
    assert verify_chain(storage.db).ok


def test_event_rolls_back_with_the_state_change_and_leaves_no_gap(storage: SqlStorage,
                                                                  audit_log: SqlAuditLog) -> None:
    audit_log.record(signin(1))
    with pytest.raises(RuntimeError), storage.db.transaction():
        audit_log.record(AuditEvent(type="client.created", client_id="gone"))
        raise RuntimeError("the change failed")
    audit_log.record(signin(2))
    assert [(r["seq"], r["type"]) for r in rows(storage)] == [(1, "signin"), (2, "signin")]
    assert verify_chain(storage.db).ok


@pytest.fixture
def six_events(storage: SqlStorage, audit_log: SqlAuditLog) -> SqlStorage:
    for n in range(6):
        audit_log.record(signin(n))
    return storage


def test_an_edited_row_is_named(six_events: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    execute(six_events, "UPDATE audit_events SET username = 'attacker' WHERE seq = 3")
    problem = verify_chain(six_events.db, checkpoint_key.verifier()).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "altered")


def test_an_edited_details_field_is_named(six_events: SqlStorage) -> None:
    execute(six_events, "UPDATE audit_events SET outcome = 'failure' WHERE seq = 5")
    problem = verify_chain(six_events.db).problem
    assert problem is not None and problem.seq == 5


def test_a_deleted_row_is_named(six_events: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    execute(six_events, "DELETE FROM audit_events WHERE seq = 2")
    problem = verify_chain(six_events.db, checkpoint_key.verifier()).problem
    assert problem is not None and (problem.seq, problem.kind) == (2, "removed")


def test_a_deleted_last_row_is_named(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    """Head interval 0: the head moves with every write, so it names the newest event. (With the
    default interval it may lag the newest events; see test_chain_head.py.)"""
    audit_log.head_interval = 0
    for n in range(6):
        audit_log.record(signin(n))
    execute(storage, "DELETE FROM audit_events WHERE seq = 6")
    problem = verify_chain(storage.db).problem
    assert problem is not None and (problem.seq, problem.kind) == (6, "removed")


def test_two_swapped_rows_are_named(six_events: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    execute(six_events, "UPDATE audit_events SET seq = -1 WHERE seq = 2")
    execute(six_events, "UPDATE audit_events SET seq = 2 WHERE seq = 5")
    execute(six_events, "UPDATE audit_events SET seq = 5 WHERE seq = -1")
    problem = verify_chain(six_events.db, checkpoint_key.verifier()).problem
    assert problem is not None and (problem.seq, problem.kind) == (2, "reordered")


def test_swapped_contents_are_named(six_events: SqlStorage) -> None:
    a, b = rows(six_events)[2], rows(six_events)[3]
    swap = ("UPDATE audit_events SET username = :username, request_id = :request_id, "
            "session_hash = :session_hash, hash = :hash, prev_hash = :prev_hash WHERE seq = :seq")
    columns = ("username", "request_id", "session_hash", "hash", "prev_hash")
    execute(six_events, swap, seq=3, **{k: b[k] for k in columns})
    execute(six_events, swap, seq=4, **{k: a[k] for k in columns})
    problem = verify_chain(six_events.db).problem
    assert problem is not None and (problem.seq, problem.kind) == (3, "reordered")


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(six_events: SqlStorage,
                                                              checkpoint_key: CheckpointKey) -> None:
    """An attacker edits seq 2 and recomputes every later hash: only the signature can tell."""
    stored = rows(six_events)
    prev = stored[0]["hash"]
    for row in stored[1:]:
        if row["seq"] == 2:
            row["username"] = "attacker"
        row["prev_hash"] = prev
        row["hash"] = row_hash(row)
        prev = row["hash"]
        execute(six_events, "UPDATE audit_events SET username = :u, prev_hash = :p, hash = :h WHERE seq = :s",
                u=row["username"], p=row["prev_hash"], h=row["hash"], s=row["seq"])
    execute(six_events, "UPDATE audit_chain SET last_hash = :h", h=prev)
    problem = verify_chain(six_events.db, checkpoint_key.verifier()).problem
    assert problem is not None and problem.seq == 1 and "4" in problem.reason


def test_a_forged_checkpoint_signature_fails(six_events: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    execute(six_events, "UPDATE audit_events SET checkpoint = 'eyJhbGciOiJub25lIn0.e30.' WHERE seq = 4")
    problem = verify_chain(six_events.db, checkpoint_key.verifier()).problem
    assert problem is not None and "signature" in problem.reason


def test_missing_chain_head_is_reported(six_events: SqlStorage) -> None:
    with six_events.db.transaction() as conn:
        conn.execute(text("DELETE FROM audit_chain"))
    assert not verify_chain(six_events.db).ok


def test_ip_truncation_per_setting_and_odd_values() -> None:
    from idp.audit.context import IpTruncation

    assert IpTruncation.parse("24/48").apply("203.0.113.77") == "203.0.113.0"
    assert IpTruncation.parse("none").apply("203.0.113.77") == "203.0.113.77"  # same address, other setting
    assert IpTruncation.parse("16/32").apply("::ffff:203.0.113.77") == "203.0.0.0"
    assert IpTruncation().apply("not-an-ip\x00" + "x" * 100) == ("not-an-ip" + "x" * 100)[:64]
    assert IpTruncation().apply(None) is None and IpTruncation().apply("") is None

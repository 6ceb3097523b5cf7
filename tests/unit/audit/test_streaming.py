"""Verify and export read the log in pages (idp.audit.reading): nothing is missed or doubled at a
page's edge, tampering there is still named, and the export is what one unpaged read renders."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from idp.audit.chain import row_hash
from idp.audit.events import AuditEvent
from idp.audit.export import FORMATS, render
from idp.audit.query import AuditQuery, event_json, iter_matching
from idp.audit.reading import pages
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.schema import audit_chain, audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin

BATCH = 5  # pages 1-5, 6-10, 11-14; the audit_log fixture signs a checkpoint at 4, 8 and 12


@pytest.fixture
def fourteen(storage: SqlStorage, audit_log: SqlAuditLog) -> SqlStorage:
    for n in range(14):
        audit_log.record(signin(n, details={"attempt": n, "note": "tiếng Việt, \"quoted\""}))
    return storage


def stored(storage: SqlStorage) -> list[dict[str, Any]]:
    with storage.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()]


def rewrite_from(storage: SqlStorage, seq: int, username: str) -> None:
    """Change event ``seq`` and recompute its hash and every later one, as a forger with database
    access would, the unsigned chain head too (the signed checkpoints in the rows are left as they
    were: the forger has no key)."""
    rows = stored(storage)
    prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
    with storage.db.transaction() as conn:
        for row in rows[seq - 1:]:
            if row["seq"] == seq:
                row["username"] = username
            row["prev_hash"] = prev
            row["hash"] = prev = row_hash(row)
            conn.execute(update(audit_events).where(audit_events.c.seq == row["seq"])
                         .values(username=row["username"], prev_hash=row["prev_hash"], hash=row["hash"]))
            conn.execute(update(audit_chain).where(audit_chain.c.last_seq == row["seq"]).values(last_hash=row["hash"]))


def test_an_intact_log_read_in_pages_verifies_whole(fourteen: SqlStorage, checkpoint_key: CheckpointKey) -> None:
    report = verify_chain(fourteen.db, checkpoint_key.verifier(), batch=BATCH)
    assert report.ok, report.problem
    assert (report.events, report.first_seq, report.last_seq, report.checkpoints) == (14, 1, 14, 3)
    read = [[row["seq"] for row in page] for page in pages(fourteen.db, select(audit_events), batch=BATCH)]
    assert read == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14]]


@pytest.mark.parametrize(("tamper", "seq", "kind"), [
    ("DELETE FROM audit_events WHERE seq = 5", 5, "removed"),  # the last row of a page
    ("DELETE FROM audit_events WHERE seq = 6", 6, "removed"),  # the first row of the next page
    ("DELETE FROM audit_events WHERE seq IN (11, 12)", 11, "removed"),  # the last page's first rows
    ("UPDATE audit_events SET username = 'attacker' WHERE seq = 10", 10, "altered"),
])
def test_tampering_at_a_page_edge_is_named(fourteen: SqlStorage, checkpoint_key: CheckpointKey,
                                           tamper: str, seq: int, kind: str) -> None:
    execute(fourteen, tamper)
    problem = verify_chain(fourteen.db, checkpoint_key.verifier(), batch=BATCH).problem
    assert problem is not None and (problem.seq, problem.kind) == (seq, kind), problem


def test_a_rewritten_hash_is_caught_by_the_first_row_of_the_next_page(fourteen: SqlStorage) -> None:
    rows = stored(fourteen)
    forged = {**rows[4], "username": "attacker"}  # seq 5, the last row of the first page
    execute(fourteen, "UPDATE audit_events SET username = 'attacker', hash = :h WHERE seq = 5", h=row_hash(forged))
    problem = verify_chain(fourteen.db, batch=BATCH).problem  # no keys: the hash links alone
    assert problem is not None and (problem.seq, problem.kind) == (5, "altered")
    assert "does not link" in problem.reason


def test_a_chain_recomputed_across_pages_fails_at_the_signed_checkpoint(fourteen: SqlStorage,
                                                                        checkpoint_key: CheckpointKey) -> None:
    rewrite_from(fourteen, 6, "attacker")  # 6..14 recomputed: the hash links all hold
    assert verify_chain(fourteen.db, batch=BATCH).ok  # without the pinned key it cannot be told
    problem = verify_chain(fourteen.db, checkpoint_key.verifier(), batch=BATCH).problem
    assert problem is not None and (problem.seq, problem.kind) == (5, "altered")
    assert "checkpoint 8" in problem.reason


def test_verify_stops_at_the_first_problem_without_reading_on(fourteen: SqlStorage) -> None:
    execute(fourteen, "UPDATE audit_events SET outcome = 'failure' WHERE seq = 2")
    seen: list[int] = []
    problem = verify_chain(fourteen.db, progress=lambda seq, newest: seen.append(seq), batch=BATCH).problem
    assert problem is not None and problem.seq == 2
    assert seen == [1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_in_pages_is_what_one_read_renders(fourteen: SqlStorage, audit_log: SqlAuditLog, fmt: str) -> None:
    audit_log.record(AuditEvent(type="client.created", client_id="=cmd|' /C calc'!A0", details={"by": "ops"}))
    with fourteen.db.connect() as conn:
        whole = [event_json(r) for r in conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()]
    expected = "".join(render(whole, fmt))
    assert "".join(render(iter_matching(fourteen.db, AuditQuery(), batch=3), fmt)) == expected
    assert "".join(render(iter_matching(fourteen.db, AuditQuery(), batch=100), fmt)) == expected
    assert len(whole) == 15


def test_a_filtered_export_in_pages_keeps_every_match(fourteen: SqlStorage) -> None:
    query = AuditQuery(username="u7")
    events = list(iter_matching(fourteen.db, query, batch=2))
    assert [e["seq"] for e in events] == [8]
    every = list(iter_matching(fourteen.db, AuditQuery(type="signin"), batch=2))
    assert [e["seq"] for e in every] == list(range(1, 15))


def test_pages_inside_a_transaction_read_what_it_wrote(storage: SqlStorage, audit_log: SqlAuditLog) -> None:
    with storage.db.transaction():
        for n in range(7):
            audit_log.record(signin(n))
        read = [row["seq"] for page in pages(storage.db, select(audit_events), batch=3) for row in page]
    assert read == list(range(1, 8))

"""The chain head row moves once per interval (and at every signed checkpoint), not once per write.

Writers chain from the newest event under the head lock, so the log stays one gap-free chain that
verifies; removing events up to the head (or a checkpoint) is still named by ``verify``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from idp.audit.sql import SqlAuditLog, read_head
from idp.audit.verify import verify_chain
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin

_HEAD_TRIGGER = {
    "sqlite": ["CREATE TRIGGER head_moved AFTER UPDATE ON audit_chain BEGIN INSERT INTO head_moves VALUES (1); END"],
    "postgresql": [
        "CREATE FUNCTION note_head_move() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO head_moves VALUES (1); RETURN NULL; END $$",
        "CREATE TRIGGER head_moved AFTER UPDATE ON audit_chain FOR EACH ROW EXECUTE FUNCTION note_head_move()",
    ],
}


@contextmanager
def head_updates(storage: SqlStorage) -> Iterator[Callable[[], int]]:
    """How many times the head row was updated inside the block (a trigger counts them, whatever
    the path of the statement: SQLAlchemy or the psycopg connection under it)."""
    execute(storage, "CREATE TABLE head_moves (n INTEGER)")
    for statement in _HEAD_TRIGGER[storage.db.dialect]:
        execute(storage, statement)

    def count() -> int:
        with storage.db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM head_moves")).scalar_one())

    yield count
    execute(storage, "DROP TRIGGER head_moved" + (" ON audit_chain" if storage.db.dialect == "postgresql" else ""))


def head(storage: SqlStorage) -> tuple[int, str, int]:
    with storage.db.connect() as conn:
        found = read_head(conn)
    assert found is not None
    return found


@pytest.mark.parametrize("batching", [False, True], ids=["inline", "group-commit"])
def test_a_burst_moves_the_head_at_most_once_per_interval(storage: SqlStorage, batching: bool) -> None:
    log = SqlAuditLog(storage.db)  # the default interval, no checkpoints
    assert log.head_interval == 1.0
    if batching:
        log.enable_batching()  # one event at a time: batches of one, as at moderate load
    with head_updates(storage) as updates:
        start = time.monotonic()
        for n in range(30):
            log.record(signin(n))
        elapsed = time.monotonic() - start
    log.close()
    assert 1 <= updates() <= 1 + int(elapsed / log.head_interval)
    report = verify_chain(storage.db)
    assert report.ok, report.problem
    assert (report.events, report.first_seq, report.last_seq) == (30, 1, 30)


def test_a_signed_checkpoint_moves_the_head_whatever_the_interval(storage: SqlStorage,
                                                                   audit_log: SqlAuditLog) -> None:
    audit_log.head_interval = 3600
    with head_updates(storage) as updates:
        for n in range(9):
            audit_log.record(signin(n))
    assert updates() == 3  # the first write of this log, then the checkpoints at seq 4 and 8
    assert head(storage)[0] == 8
    assert verify_chain(storage.db).ok


@pytest.mark.parametrize(("tamper", "seq", "kind"), [
    ("DELETE FROM audit_events WHERE seq >= 3", 3, "removed"),  # through the head (at 4 or later)
    ("DELETE FROM audit_events WHERE seq = 4", 4, "removed"),
    ("DELETE FROM audit_events WHERE seq = 2", 2, "removed"),
    ("UPDATE audit_events SET username = 'attacker' WHERE seq = 6", 6, "altered"),  # newer than the head
])
def test_tampering_up_to_the_head_is_named_with_the_default_interval(
        storage: SqlStorage, audit_log: SqlAuditLog, checkpoint_key: CheckpointKey, tamper: str, seq: int,
        kind: str) -> None:
    for n in range(6):
        audit_log.record(signin(n))
    assert head(storage)[0] >= 4  # moved by the checkpoint at seq 4
    execute(storage, tamper)
    problem = verify_chain(storage.db, checkpoint_key.verifier()).problem
    assert problem is not None and (problem.seq, problem.kind) == (seq, kind)


def test_without_checkpoints_the_head_still_names_events_removed_up_to_it(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db)
    for n in range(3):
        log.record(signin(n))
    execute(storage, "DELETE FROM audit_events")
    problem = verify_chain(storage.db).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "removed")
    assert "chain head" in problem.reason


def test_the_head_catches_up_at_the_next_write_after_the_interval(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db, head_interval=0.5)
    rows = [log.append(signin(n)) for n in range(3)]
    assert head(storage)[:2] == (1, rows[0]["hash"])  # written within the interval: not moved
    assert verify_chain(storage.db).ok  # events 2 and 3, newer than the head, verify by their links
    time.sleep(0.55)
    fourth = log.append(signin(4))
    assert head(storage)[:2] == (4, fourth["hash"])
    execute(storage, "DELETE FROM audit_events WHERE seq = 4")
    problem = verify_chain(storage.db).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "removed")


def test_a_lagging_head_is_checked_against_the_event_at_its_seq(storage: SqlStorage) -> None:
    log = SqlAuditLog(storage.db, head_interval=3600)  # the head stays at seq 1
    for n in range(3):
        log.record(signin(n))
    execute(storage, "UPDATE audit_chain SET last_hash = :h", h="f" * 64)
    problem = verify_chain(storage.db).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "altered")
    assert "head" in problem.reason

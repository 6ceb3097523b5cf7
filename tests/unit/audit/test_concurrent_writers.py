"""Two OS processes appending at the same time keep one gap-free, valid chain; a writer that waited
for the head lock chains after the event committed while it waited.

The writers use the default head interval, so the head row lags and each writer takes the chain
tip from the newest event row (written by either process) under the head lock.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text

from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.migrate import upgrade
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import signin

ROOT = Path(__file__).resolve().parents[3]
PER_WRITER = 150


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def test_two_processes_writing_at_once_keep_one_chain(database_url: str, tmp_path: Path) -> None:
    storage = SqlStorage.open(database_url)
    upgrade(storage.db.engine)
    start = tmp_path / "go"
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.unit.audit.writer_process", database_url, name,
                          str(PER_WRITER), str(start)], cwd=ROOT)
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{start}.{n}.ready").exists() for n in ("a", "b")):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), "writers did not start"
        time.sleep(0.01)
    start.touch()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]

    with storage.db.connect() as conn:
        stored = conn.execute(select(audit_events.c.seq, audit_events.c.details)
                              .order_by(audit_events.c.seq)).all()
    assert [seq for seq, _ in stored] == list(range(1, 2 * PER_WRITER + 1))
    writers_seen = [details["writer"] for _, details in stored]
    assert writers_seen.count("a") == writers_seen.count("b") == PER_WRITER
    # interleaved, so the test really had both writing at once
    assert sum(1 for x, y in zip(writers_seen, writers_seen[1:], strict=False) if x != y) > 2
    report = verify_chain(storage.db)
    assert report.ok, report.problem
    storage.close()


def wait_until_blocked_by(storage: SqlStorage, holder: Connection) -> None:
    """Return once another session waits for a lock ``holder`` holds (PostgreSQL); SQLite writers
    wait in ``BEGIN IMMEDIATE``, which no view shows: give the waiter time to get there."""
    if storage.db.dialect != "postgresql":
        time.sleep(0.3)
        return
    pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
    deadline = time.monotonic() + 10
    # autocommit: pg_stat_activity is read once per transaction
    with storage.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        while not watcher.execute(text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                                  {"pid": pid}).scalar_one():
            assert time.monotonic() < deadline, "the second writer never waited for the head lock"
            time.sleep(0.01)


def test_a_writer_that_waited_for_the_head_chains_after_the_event_committed_meanwhile(storage: SqlStorage) -> None:
    """The tip is read after the head lock is granted: a tip read from before the wait would miss
    the holder's event (a duplicate seq)."""
    holder, waiter = (SqlAuditLog(storage.db, head_interval=3600) for _ in range(2))  # the head lags
    holder.append(signin(0))
    failures: list[BaseException] = []

    def wait_and_write() -> None:
        try:
            waiter.append_many([signin(2), signin(3)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    thread = threading.Thread(target=wait_and_write)
    with storage.db.transaction() as conn:
        holder.append(signin(1))  # holds the head lock until this transaction commits
        thread.start()
        wait_until_blocked_by(storage, conn)
    thread.join(timeout=30)
    assert not failures, failures
    with storage.db.connect() as conn:
        names = conn.execute(select(audit_events.c.username).order_by(audit_events.c.seq)).scalars().all()
    assert names == ["u0", "u1", "u2", "u3"]
    report = verify_chain(storage.db)
    assert report.ok, report.problem

"""Two OS processes appending at the same time keep one gap-free, valid chain.

The writers use the default head interval, so the head row lags and each writer takes the chain
tip from the newest event row (written by either process) under the head lock.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.audit.verify import verify_chain
from idp.storage.migrate import upgrade
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage

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

"""A server killed between an event's commit and its linking loses nothing (IDP_AUDIT_SEQUENCER).

The test holds the sequencer's advisory lock, so the server can stage events but not link them;
a client_credentials token is issued (its event committed, unlinked), the server is killed with
SIGKILL, the lock released, and a second server's sequencer links the event into a chain that
``idp audit verify`` accepts.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, Table, select, text, update

from idp.audit.events import AuditEvent
from idp.audit.sequencer import LOCK_KEY_SQL
from idp.audit.sql import SqlAuditLog
from idp.storage.migrate import upgrade
from idp.storage.schema import audit_events, audit_pending
from idp.storage.sql import SqlStorage
from tests.functional.helpers import run_idp, running_server

SECRET = "kill-test-secret-0123456789abcdef"


def server_pids(port: str) -> list[int]:
    """The ``idp serve`` processes this test started on ``port`` (children of this process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"serve" in argv and port.encode() in argv:
            found.append(int(entry.name))
    return found


@contextmanager
def sequencer_lock_held(storage: SqlStorage) -> Iterator[Connection]:
    """Hold the sequencer's advisory lock (as a sequencer of another replica would) until the end."""
    with storage.db.engine.connect() as conn:
        conn.begin()
        assert conn.execute(text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY_SQL})")).scalar()
        yield conn
        conn.rollback()


def token_events(storage: SqlStorage, table: Table) -> list[str]:
    """The client's token events in ``table`` (staged or linked), by request id."""
    with storage.db.connect() as conn:
        return list(conn.execute(select(table.c.request_id).where(table.c.client_id == "kill-bot",
                                                                   table.c.type == "token.issued")).scalars())


@pytest.fixture
def env(postgres_url: str, tmp_path: Path) -> dict[str, str]:
    return {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_DATABASE_URL": postgres_url, "IDP_AUTO_MIGRATE": "true",
            "IDP_AUDIT_SEQUENCER": "true", "IDP_AUDIT_CHECKPOINT_INTERVAL": "4"}


def test_a_server_killed_before_linking_loses_no_event(env: dict[str, str]) -> None:
    storage = SqlStorage.open(env["IDP_DATABASE_URL"])
    upgrade(storage.db.engine)
    added = run_idp(["clients", "add", "kill-bot", "--secret-stdin", "--grant-type", "client_credentials",
                     "--scope", "admin:policies"], env, stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    try:
        with sequencer_lock_held(storage), running_server(env) as base:
            response = httpx.post(base + "/token", auth=("kill-bot", SECRET),
                                  data={"grant_type": "client_credentials", "scope": "admin:policies"})
            assert response.status_code == 200, response.text
            # answered: its event is committed, and waits unlinked while the lock is held elsewhere
            assert token_events(storage, audit_pending) and not token_events(storage, audit_events)
            pids = server_pids(base.rsplit(":", 1)[1])
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)
        issued = token_events(storage, audit_pending)
        with running_server(env):  # the next sequencer links what the dead one left
            deadline = time.monotonic() + 20
            while token_events(storage, audit_events) != issued:
                assert time.monotonic() < deadline, "the event left by the killed server was never linked"
                time.sleep(0.05)
        assert not token_events(storage, audit_pending)
        verified = run_idp(["audit", "verify"], env)
        assert verified.returncode == 0, verified.stderr + verified.stdout
        assert "ok:" in verified.stdout
    finally:
        storage.close()


def test_idp_audit_verify_fails_on_an_event_left_unlinked_past_the_alarm(tmp_path: Path) -> None:
    env = {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'idp.sqlite3'}"}
    storage = SqlStorage.open(env["IDP_DATABASE_URL"])
    upgrade(storage.db.engine)
    log = SqlAuditLog(storage.db)
    log.record(AuditEvent(type="signin", username="u0"))  # linked
    log.sequenced = True
    log.record(AuditEvent(type="signin", username="u1"))  # staged; no sequencer runs
    with storage.db.transaction() as conn:
        conn.execute(update(audit_pending).values(occurred_at=datetime.now(UTC) - timedelta(seconds=60)))
    storage.close()
    late = run_idp(["audit", "verify"], env)
    assert late.returncode == 1
    assert "audit log unlinked: 1 event(s) not linked into the chain" in late.stderr
    assert "(IDP_AUDIT_LINK_ALARM_SECONDS=10): is a sequencer running?" in late.stderr
    assert "chưa được liên kết" in late.stderr
    patient = run_idp(["audit", "verify"], env | {"IDP_AUDIT_LINK_ALARM_SECONDS": "3600"})
    assert patient.returncode == 0, patient.stderr

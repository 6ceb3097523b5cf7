"""CPU per audit event on PostgreSQL, ours and the database backend's: linked by each write (today's
default) against staged unlinked and linked by the sequencer (``IDP_AUDIT_SEQUENCER``), by batch size.

    .venv/bin/python bench/experiments/audit_sequencer_cpu.py [--events 2000] [--postgres URL]

One thread keeping one connection (as the server's audit writer does), in a throw-away schema.
``batch`` is how many events one group commit carries (1 when requests come one at a time, tens
under load); the sequencer links after every ``batch`` events too (its rounds follow the commits).
Our CPU is this process's (``time.process_time``), the backend's is read from ``/proc/<pid>/stat``
of the connection's PostgreSQL backend (same machine), so work moved into the database is counted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import text

from idp.audit.events import AuditContext, AuditEvent
from idp.audit.sequencer import link_all
from idp.audit.sql import SqlAuditLog
from idp.storage.db import keep_connection_in_this_thread
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage

TICKS = os.sysconf("SC_CLK_TCK")
EVENT = AuditEvent(type="token.issued", client_id="portal", subject="s" * 43, details={"grant": "client_credentials"},
                   context=AuditContext(ip="203.0.113.7", user_agent="bench", request_id="r-1", session_id=None))


def backend_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115, PTH123 - tiny read
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(storage: SqlStorage, events: int, run: Callable[[], None]) -> tuple[float, float]:
    with storage.db.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    ours, theirs = time.process_time(), backend_cpu(pid)
    run()
    return ((time.process_time() - ours) / events * 1e6, (backend_cpu(pid) - theirs) / events * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    schema = "bench_seq_" + secrets.token_hex(4)
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    keep_connection_in_this_thread()
    try:
        storage = SqlStorage.open(f"{args.postgres}?options=-csearch_path%3D{schema}")
        upgrade(storage.db.engine)
        inline, staged = SqlAuditLog(storage.db), SqlAuditLog(storage.db)
        staged.sequenced = True
        inline.append_many([EVENT])
        print(f"{'batch':>5}  {'linked by the write':>28}  {'staged + sequencer':>28}   "
              "(µs CPU per event: ours + database)")
        for batch in (1, 10, 50):
            rounds = args.events // batch

            def write(log: SqlAuditLog = inline, rounds: int = rounds, batch: int = batch) -> None:
                for _ in range(rounds):
                    log.append_many([EVENT] * batch)

            def stage_and_link(rounds: int = rounds, batch: int = batch) -> None:
                for _ in range(rounds):
                    staged.append_many([EVENT] * batch)
                    link_all(staged)

            a = measure(storage, rounds * batch, write)
            b = measure(storage, rounds * batch, stage_and_link)
            print(f"{batch:>5}  {a[0]:8.0f} + {a[1]:6.0f} = {sum(a):7.0f}  {b[0]:8.0f} + {b[1]:6.0f} = {sum(b):7.0f}")
        storage.close()
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()

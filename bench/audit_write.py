"""Cost of recording one audit event (``SqlAuditLog.record``) on SQLite and PostgreSQL.

Run:  .venv/bin/python bench/audit_write.py [--events 2000] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Measures, for each database: (a) an event in its own transaction (what a failed sign-in costs),
(b) the extra time an event adds to a transaction that already writes a row (a state change plus
its event), each over ``--events`` events, single writer. PostgreSQL runs in a throw-away schema.
Bounded in count; loopback only.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from idp.audit.events import AuditContext, AuditEvent
from idp.audit.sql import SqlAuditLog
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage

EVENT = AuditEvent(
    type="signin",
    outcome="failure",
    username="canbo01",
    client_id="portal",
    reason="wrong_password",
    amr=("pwd",),
    details={"attempt": 3},
    context=AuditContext(
        ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64)", request_id="r-1", session_id="s" * 43
    ),
)


def timed(count: int, action: Callable[[int], None]) -> list[float]:
    samples = []
    for n in range(count):
        start = time.perf_counter()
        action(n)
        samples.append(time.perf_counter() - start)
    return samples


def describe(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (
        f"| {name} | {len(ms) / (sum(ms) / 1000):,.0f} | {statistics.mean(ms):.3f} | "
        f"{ms[len(ms) // 2]:.3f} | {ms[int(len(ms) * 0.99)]:.3f} |"
    )


def run(label: str, storage: SqlStorage, count: int) -> list[str]:
    log = SqlAuditLog(storage.db)
    db = storage.db
    with db.transaction() as conn:
        conn.execute(text("CREATE TABLE bench_state (id INTEGER PRIMARY KEY, value VARCHAR(64))"))
    timed(50, lambda n: log.record(EVENT))  # warm up

    def state_only(n: int) -> None:
        with db.transaction() as conn:
            conn.execute(text("INSERT INTO bench_state (id, value) VALUES (:i, 'x')"), {"i": n})

    def state_and_event(n: int) -> None:
        with db.transaction() as conn:
            conn.execute(text("INSERT INTO bench_state (id, value) VALUES (:i, 'x')"), {"i": count + n})
            log.record(EVENT)

    alone = timed(count, lambda n: log.record(EVENT))
    base = timed(count, state_only)
    both = timed(count, state_and_event)
    extra = statistics.mean(both) - statistics.mean(base)
    return [
        describe(f"{label}: event in its own transaction", alone),
        describe(f"{label}: state change only (baseline)", base),
        describe(f"{label}: state change + event", both),
        f"| {label}: added by the event | | {extra * 1000:.3f} | | |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    count = max(100, min(args.events, 20000))
    lines = ["| case | events/s | mean ms | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        storage = SqlStorage.open(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(storage.db.engine)
        lines += run("SQLite (WAL, synchronous=NORMAL)", storage, count)
        storage.close()
    import psycopg

    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        storage = SqlStorage.open(args.postgres, schema=schema)
        upgrade(storage.db.engine)
        lines += run("PostgreSQL (loopback)", storage, count)
        storage.close()
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

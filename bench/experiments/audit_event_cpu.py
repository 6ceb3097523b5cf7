"""CPU per audit event on the server's path, split: building and hashing the rows, the batch's
parameters, the whole batched append on PostgreSQL, and the same through the AuditBatcher with
callers on an event loop awaiting each event's commit (what a client_credentials token pays).

    PYTHONPATH=. taskset -c 1 .venv/bin/python bench/experiments/audit_event_cpu.py [--batch 25] [--events 5000]

PostgreSQL on 127.0.0.1:5432 (database ``test``), in a throw-away schema; bounded in count.
"""
# mypy: ignore-errors

from __future__ import annotations

import argparse
import asyncio
import secrets
import threading
import time

import psycopg

from bench.audit_write import EVENT
from idp.audit.batching import commits_awaited_elsewhere
from idp.audit.sql import SqlAuditLog, _batch_params
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def per_event(label: str, events: int, action) -> None:
    cpu = time.process_time()
    action()
    spent = time.process_time() - cpu
    print(f"{label:<58} {spent / events * 1e6:7.1f} µs CPU per event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    batch, rounds = args.batch, max(1, args.events // args.batch)
    events = batch * rounds
    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    storage = SqlStorage.open(ADMIN, schema=schema)
    try:
        upgrade(storage.db.engine)
        log = SqlAuditLog(storage.db)
        group = [EVENT] * batch
        log.append_many(group)  # warm up
        tip = (1, "0" * 64)
        per_event("rows built and hashed (_rows)", events, lambda: [log._rows(group, *tip) for _ in range(rounds)])
        rows = log._rows(group, *tip)
        per_event("batch parameters (_batch_params)", events,
                  lambda: [_batch_params(rows, False) for _ in range(rounds)])
        per_event(f"append_many, batches of {batch} (one thread)", events,
                  lambda: [log.append_many(group) for _ in range(rounds)])
        log.enable_batching()

        async def callers() -> None:
            async def one() -> None:
                for _ in range(rounds):
                    with commits_awaited_elsewhere() as waits:
                        log.record(EVENT)
                    for done in waits:
                        await asyncio.wrap_future(done)

            await asyncio.gather(*(one() for _ in range(batch)))

        def threaded() -> None:
            def one() -> None:
                for _ in range(rounds):
                    log.record(EVENT)

            workers = [threading.Thread(target=one) for _ in range(batch)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()

        per_event(f"through the batcher, {batch} threads waiting for the commit", events, threaded)
        per_event(f"through the batcher, {batch} callers awaiting on a loop", events, lambda: asyncio.run(callers()))
        log.close()
    finally:
        storage.close()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()

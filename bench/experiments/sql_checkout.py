"""CPU per short PostgreSQL statement: a pool checkout per statement (the old ``Database.connect``)
against the connection a thread keeps (``keep_connection_in_this_thread``, third round of
bench/PROFILE.md), with raw psycopg on a kept connection for scale.

    .venv/bin/python bench/experiments/sql_checkout.py   # PostgreSQL on 127.0.0.1:5432, database test
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import Column, MetaData, String, Table

from idp.storage.db import Database, build_engine, keep_connection_in_this_thread
from idp.storage.sql.base import keyed_select, select_one

URL = "postgresql://postgres@127.0.0.1:5432/test"
CALLS = 5000
table = Table("bench_checkout", MetaData(), Column("id", String, primary_key=True), Column("v", String))
LOOKUP = keyed_select(table, "id")


def cpu_per_call(call: Callable[[], object]) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        call()
    return (time.process_time() - started) / CALLS * 1e6


def measure(db: Database, label: str, results: dict[str, float]) -> None:
    results[label] = cpu_per_call(lambda: select_one(db, LOOKUP, id="a"))


def main() -> None:
    db = Database(build_engine(URL))
    with db.transaction() as conn:
        table.create(conn, checkfirst=True)
        conn.exec_driver_sql("INSERT INTO bench_checkout VALUES ('a', 'x') ON CONFLICT DO NOTHING")
    raw = psycopg.connect(URL, autocommit=True)

    def raw_lookup() -> object:
        with raw.cursor() as cursor:
            cursor.execute("SELECT id, v FROM bench_checkout WHERE id = %s", ("a",), prepare=True)
            return cursor.fetchone()

    def kept_thread(results: dict[str, float]) -> None:
        keep_connection_in_this_thread()
        measure(db, "kept", results)

    for _ in range(3):
        results: dict[str, float] = {}
        measure(db, "checkout", results)
        worker = threading.Thread(target=kept_thread, args=(results,))
        worker.start()
        worker.join()
        print(f"select_one: pool checkout {results['checkout']:6.1f} µs CPU, kept connection {results['kept']:6.1f} µs,"
              f" raw psycopg {cpu_per_call(raw_lookup):6.1f} µs")
    with db.transaction() as conn:
        table.drop(conn)
    db.dispose()


if __name__ == "__main__":
    main()

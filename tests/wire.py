"""PostgreSQL traffic as the server sees it: libpq's protocol trace of the connections a thread
uses, to count round trips and statements without relying on SQLAlchemy's events (some statements
run straight on the driver connection, see ``idp.storage.sql.base.first_row``).

A round trip is each turn from messages sent (``F``) to messages received (``B``); a statement is
one ``Query`` (simple protocol) or ``Execute`` (extended protocol) message sent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import pq
from sqlalchemy import event

from idp.storage.sql import SqlStorage


def count_round_trips(trace: str) -> int:
    directions = [line[0] for line in trace.splitlines() if line[:2] in ("F\t", "B\t")]
    return sum(1 for sent, received in zip(directions, directions[1:], strict=False)
               if (sent, received) == ("F", "B"))


def count_statements(trace: str) -> int:
    return sum(1 for line in trace.splitlines()
               if line[:2] == "F\t" and line.split("\t")[2].split(" ")[0] in ("Query", "Execute"))


@dataclass
class WireTrace:
    round_trips: int = 0  # set when the block ends (libpq writes its trace out when it stops)
    statements: int = 0


@contextmanager
def wire_trace(storage: SqlStorage) -> Iterator[WireTrace]:
    """Trace this thread's PostgreSQL traffic inside the block: on the connection ``db.connect()``
    gives it (the one it keeps or its transaction's, see idp.storage.db) and on those it checks out
    of the pool; count the round trips."""
    handle, path = tempfile.mkstemp(suffix=".trace")
    found = WireTrace()

    def start(driver: Any) -> None:
        driver.pgconn.trace(handle)
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        start(dbapi_connection)

    def on_checkin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.untrace()

    with storage.db.connect() as conn:
        held = conn.connection.driver_connection
    start(held)
    event.listen(storage.db.engine, "checkout", on_checkout)
    event.listen(storage.db.engine, "checkin", on_checkin)
    try:
        yield found
    finally:
        event.remove(storage.db.engine, "checkout", on_checkout)
        event.remove(storage.db.engine, "checkin", on_checkin)
        held.pgconn.untrace()
        trace = Path(path).read_text()
        found.round_trips, found.statements = count_round_trips(trace), count_statements(trace)
        os.close(handle)
        os.unlink(path)

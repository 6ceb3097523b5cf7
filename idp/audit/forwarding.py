"""Streaming audit events to a SIEM without ever holding up a sign-in.

A background thread reads events after its cursor (stored in ``audit_forward_cursors``), sends a
batch, and only then moves the cursor: delivery is at least once, in sequence order, and an
unreachable SIEM just leaves the cursor where it was until it answers again. Sign-ins only write
to the database; they never wait for the forwarder. With several replicas, one holds a lease on
the cursor row at a time (renewed each round), so events are not sent once per replica.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from idp.audit.query import event_json
from idp.audit.siem import SiemSender
from idp.storage.db import Database
from idp.storage.schema import audit_events, audit_forward_cursors

log = logging.getLogger(__name__)


class AuditForwarder:
    """Delivers events to ``sender`` from a database cursor named ``name``."""

    def __init__(self, db: Database, sender: SiemSender, *, name: str = "siem", batch: int = 200,
                 interval: float = 2.0, lease_seconds: float = 30.0) -> None:
        self.db = db
        self.sender = sender
        self.name = name
        self.batch = batch
        self.interval = interval
        self.lease = timedelta(seconds=max(lease_seconds, interval * 3))
        self.owner = secrets.token_hex(8)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run :meth:`deliver` every ``interval`` seconds in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"audit-forwarder-{self.name}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sender.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.deliver() == self.batch and not self._stop.is_set():
                    pass
            except Exception as exc:  # noqa: BLE001 - a SIEM or database hiccup must not end the thread
                log.warning("audit forwarding to the SIEM paused: %s", type(exc).__name__)
            self._stop.wait(self.interval)

    def deliver(self) -> int:
        """Send one batch after the cursor; return how many events were delivered (0: none new,
        another replica holds the lease). Raises when the SIEM refuses; the cursor stays."""
        cursor = self._take_lease()
        if cursor is None:
            return 0
        with self.db.connect() as conn:
            rows = conn.execute(select(audit_events).where(audit_events.c.seq > cursor)
                                .order_by(audit_events.c.seq).limit(self.batch)).mappings().all()
        if not rows:
            return 0
        events = [event_json(r) for r in rows]
        self.sender.send(events)
        with self.db.transaction() as conn:
            conn.execute(update(audit_forward_cursors)
                         .where(audit_forward_cursors.c.name == self.name,
                                audit_forward_cursors.c.lease_owner == self.owner)
                         .values(last_seq=events[-1]["seq"], updated_at=datetime.now(UTC)))
        return len(events)

    def _take_lease(self) -> int | None:
        now = datetime.now(UTC)
        with self.db.transaction() as conn:
            insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert(audit_forward_cursors)
                         .values(name=self.name, last_seq=0, updated_at=now)
                         .on_conflict_do_nothing(index_elements=["name"]))
            row = conn.execute(select(audit_forward_cursors)
                               .where(audit_forward_cursors.c.name == self.name).with_for_update()).mappings().one()
            until = row["lease_until"]
            if until is not None and until.tzinfo is None:
                until = until.replace(tzinfo=UTC)
            if row["lease_owner"] not in (None, self.owner) and until is not None and until > now:
                return None
            conn.execute(update(audit_forward_cursors).where(audit_forward_cursors.c.name == self.name)
                         .values(lease_owner=self.owner, lease_until=now + self.lease))
            return int(row["last_seq"])

    def cursor(self) -> int:
        with self.db.connect() as conn:
            value = conn.execute(select(audit_forward_cursors.c.last_seq)
                                 .where(audit_forward_cursors.c.name == self.name)).scalar()
        return int(value or 0)

"""Streaming audit events to a SIEM without ever holding up a sign-in.

A background thread reads events after its cursor (stored in ``audit_forward_cursors``), sends a
batch, and only then moves the cursor: delivery is at least once, in sequence order, and an
unreachable SIEM just leaves the cursor where it was until it answers again. Sign-ins only write
to the database; they never wait for the forwarder. With several replicas, one holds a lease on
the cursor row at a time (renewed each round), so events are not sent once per replica.

Every signed checkpoint goes to the SIEM too, as a message of its own right after the event it
signs (:func:`idp.audit.external.checkpoint_message`): the periodic ones (in their event's row), the
ones of ``idp audit checkpoint`` (in ``audit_checkpoints``, written with their event) and a prune's
anchor (sent after the prune's event, which commits with it). That copy is what
``idp audit verify --checkpoints FILE`` compares the database with.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from idp.audit.external import checkpoint_message
from idp.audit.query import event_json
from idp.audit.siem import SiemSender
from idp.audit.types import ADMIN_ACTION, PRUNE_ACTION
from idp.observability import metrics
from idp.storage.db import Database
from idp.storage.schema import audit_checkpoints, audit_events, audit_forward_cursors

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
                _note_lag(None)
                return 0
            messages = with_checkpoints(conn, rows)
        self.sender.send(messages)
        with self.db.transaction() as conn:
            conn.execute(update(audit_forward_cursors)
                         .where(audit_forward_cursors.c.name == self.name,
                                audit_forward_cursors.c.lease_owner == self.owner)
                         .values(last_seq=int(rows[-1]["seq"]), updated_at=datetime.now(UTC)))
        _note_lag(rows[-1]["occurred_at"])
        return len(rows)

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


def _note_lag(newest_sent: datetime | None) -> None:
    """The SIEM lag metric: the age of the newest event just sent, 0 when none was waiting."""
    watched = metrics.current()
    if watched is None:
        return
    if newest_sent is not None and newest_sent.tzinfo is None:
        newest_sent = newest_sent.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - newest_sent).total_seconds() if newest_sent is not None else 0.0
    watched.siem_lag_seconds.set(max(age, 0.0))


def with_checkpoints(conn: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The events of ``rows`` (in order), each followed by the checkpoints it carries or commits:
    its row's own, the ``audit_checkpoints`` row at its seq, and for a prune event the anchor."""
    table = audit_checkpoints.c
    wanted = {int(r["seq"]) for r in rows}
    wanted |= {int(through) for r in rows if (through := _prune_anchor(r)) is not None}
    own = {int(c.seq): c for c in conn.execute(select(table.seq, table.hash, table.signature, table.created_at)
                                                .where(table.seq.in_(sorted(wanted))))}
    messages: list[dict[str, Any]] = []
    for row in rows:
        seq = int(row["seq"])
        messages.append(event_json(row))
        if row["checkpoint"] is not None:
            messages.append(checkpoint_message(seq, row["hash"], row["checkpoint"], row["occurred_at"]))
        for at in (seq, _prune_anchor(row)):
            if at is not None and at in own:
                cp = own.pop(at)
                messages.append(checkpoint_message(int(cp.seq), cp.hash, cp.signature, cp.created_at))
    return messages


def _prune_anchor(row: Any) -> int | None:
    details = row["details"] or {}
    through = details.get("through_seq")
    if row["type"] == ADMIN_ACTION and details.get("action") == PRUNE_ACTION and isinstance(through, int):
        return through
    return None

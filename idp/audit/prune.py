"""Retention: removing old events from a signed checkpoint, so the rest still verifies.

``prune_before(log, before)`` finds the newest event older than ``before``, makes sure a signed
checkpoint exists there (signing one when the log has a checkpointer), keeps the newest checkpoint
at or before it in ``audit_checkpoints`` (moving it there when it was in its event's row), deletes
every event up to it and every checkpoint before it, records an ``admin.action`` event
(``details.action = "audit.prune"``, ``through_seq``) and moves the chain's prune horizon and its
head (to that event, whatever the head interval) in the same transaction. ``verify`` then anchors
the chain at that checkpoint and refuses a horizon no prune event explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from idp.audit.chain import format_time, utc_ms
from idp.audit.checkpoints import stored_checkpoints
from idp.audit.events import AuditEvent
from idp.audit.sql import HEAD_ID, SqlAuditLog, lock_head, read_head
from idp.audit.types import ADMIN_ACTION, PRUNE_ACTION
from idp.errors import IdpError
from idp.storage.schema import audit_chain, audit_checkpoints, audit_events


class PruneRefused(IdpError):
    """Pruning would leave a chain that cannot be verified."""


@dataclass(frozen=True)
class PruneResult:
    through_seq: int  # 0 when nothing was old enough
    deleted: int


def prune_before(log: SqlAuditLog, before: datetime, *, actor: str | None = None) -> PruneResult:
    """Delete the events older than ``before`` up to the newest checkpoint among them."""
    db = log.db
    with db.transaction() as conn:
        lock_head(conn)
        head = read_head(conn)
        pruned = head[2] if head else 0
        newest_old = conn.execute(
            select(func.max(audit_events.c.seq)).where(audit_events.c.occurred_at < utc_ms(before))
        ).scalar()
        if not newest_old or newest_old <= pruned:
            return PruneResult(0, 0)
        if log.checkpointer is not None:
            chain_hash = conn.execute(
                select(audit_events.c.hash).where(audit_events.c.seq == newest_old)
            ).scalar_one()
            log.checkpointer.write(conn, newest_old, chain_hash)
        # The newest checkpoint at or before that event, its own row preferred over its event's.
        anchor = max(stored_checkpoints(conn, after=pruned, through=newest_old),
                     key=lambda cp: (cp.seq, not cp.in_event_row), default=None)
        through = anchor.seq if anchor else None
        if anchor is None or not through:
            raise PruneRefused(
                "Không có điểm kiểm tra đã ký nào trước mốc thời gian này; không thể xoá. / "
                "No signed checkpoint before that time: nothing can be pruned (configure signing keys)."
            )
        old_events = audit_events.c.seq <= through
        deleted = conn.execute(select(func.count()).select_from(audit_events).where(old_events)).scalar_one()
        # Appended before the deletion: the chain continues from the newest event, which may be
        # among the deleted ones while the head row lags behind it.
        row = log.append(AuditEvent(
            type=ADMIN_ACTION, username=actor, reason="retention",
            details={"action": PRUNE_ACTION, "through_seq": through, "before": format_time(before),
                     "deleted": deleted},
        ))
        if anchor.in_event_row:  # its row goes: the anchor of the pruned log moves to its own row
            conn.execute(audit_checkpoints.insert().values(seq=anchor.seq, hash=anchor.hash,
                                                           signature=anchor.signature, created_at=datetime.now(UTC)))
        conn.execute(delete(audit_events).where(old_events))
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq < through))
        conn.execute(update(audit_chain).where(audit_chain.c.id == HEAD_ID)
                     .values(pruned_through=through, last_seq=row["seq"], last_hash=row["hash"]))
    return PruneResult(through, deleted)

"""Retention periods (settings) applied by ``idp retention apply``: the audit trail's events
older than ``IDP_AUDIT_RETENTION_DAYS`` are pruned from a signed checkpoint (idp.audit.prune), and
a person with no sign-in for ``IDP_INACTIVE_ACCOUNT_RETENTION_DAYS`` is erased as on their own
request (idp/storage/sql/erasure.py), each erasure audited (``personal_data.erased``, reason
``retention``) with the personal ID number only as its keyed hash. People with a local account
are kept: officials' accounts are the operators' to end. A period of 0 applies nothing.

:func:`plan` only reads (the dry run); :func:`apply` does what the plan says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select

from idp.audit.chain import utc_ms
from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.prune import PruneResult, prune_before
from idp.audit.sql import SqlAuditLog
from idp.audit.types import PERSONAL_DATA_ERASED
from idp.settings import Settings
from idp.storage.schema import accounts, audit_events, identity_links, subjects
from idp.storage.sql import SqlStorage
from idp.storage.sql.erasure import erase_subject


@dataclass(frozen=True)
class RetentionPlan:
    """What applying the retention periods now would do."""

    audit_before: datetime | None = None
    audit_events: int = 0
    inactive_before: datetime | None = None
    inactive_subjects: tuple[str, ...] = field(default=())


def plan(settings: Settings, storage: SqlStorage, now: datetime | None = None) -> RetentionPlan:
    """The events and the people the periods in ``settings`` reach at ``now`` (nothing changes)."""
    now = now or datetime.now(UTC)
    audit_before = now - timedelta(days=settings.audit_retention_days) if settings.audit_retention_days else None
    inactive_before = (now - timedelta(days=settings.inactive_account_retention_days)
                       if settings.inactive_account_retention_days else None)
    old_events = 0
    inactive: list[str] = []
    with storage.db.connect() as conn:
        if audit_before is not None:
            old_events = conn.execute(select(func.count()).select_from(audit_events)
                                      .where(audit_events.c.occurred_at < utc_ms(audit_before))).scalar_one()
        if inactive_before is not None:
            recent_sign_in = exists(select(identity_links.c.id).where(
                identity_links.c.subject_id == subjects.c.id, identity_links.c.last_login_at >= inactive_before))
            local_account = exists(select(accounts.c.id).where(accounts.c.subject_id == subjects.c.id))
            inactive = list(conn.execute(select(subjects.c.id).where(
                subjects.c.updated_at < inactive_before, ~recent_sign_in, ~local_account)
                .order_by(subjects.c.updated_at)).scalars())
    return RetentionPlan(audit_before, int(old_events), inactive_before, tuple(inactive))


def apply(planned: RetentionPlan, storage: SqlStorage, log: AuditLog, *, actor: str | None) -> PruneResult | None:
    """Erase the inactive people of ``planned`` (each audited), then prune the audit trail (its
    own ``admin.action`` event). The prune's result, None when no audit period is set."""
    for subject_id in planned.inactive_subjects:
        subject = storage.subjects.get(subject_id)
        if subject is None:
            continue
        removed = erase_subject(storage.db, subject_id)
        log.record(AuditEvent(type=PERSONAL_DATA_ERASED, context=AuditContext(), subject=subject_id, username=actor,
                              reason="retention", details={"personal_id_hash": subject.personal_id_hash,
                                                           "removed": {t: n for t, n in removed.items() if n}}))
    if planned.audit_before is None or not isinstance(log, SqlAuditLog):
        return None
    return prune_before(log, planned.audit_before, actor=actor)

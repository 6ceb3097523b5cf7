"""The auditor's search of the audit trail (``GET /audit/events``): one page of matching events,
and the search itself recorded (``admin.action``, ``details.action = "audit.search"``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.query import AuditQuery, Page, search
from idp.audit.types import ADMIN_ACTION
from idp.storage.db import Database


class AuditSearch:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def search(self, query: AuditQuery, *, limit: int, cursor: str | None, auditor: str,
               context: AuditContext) -> Page:
        """One page, newest first, recorded as ``auditor``'s search; ValueError for a cursor that is
        not one of ours (nothing recorded)."""
        page = search(self._db, query, limit=limit, cursor=cursor)
        filters: dict[str, Any] = {k: (v.isoformat() if isinstance(v, datetime) else v)
                                   for k, v in vars(query).items() if v is not None}
        self._audit.record(AuditEvent(
            type=ADMIN_ACTION, username=auditor,
            details={"action": "audit.search", "filters": filters, "cursor": bool(cursor),
                     "returned": len(page.events)},
            context=context,
        ))
        return page

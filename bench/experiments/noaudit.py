"""Experiment (measurement only, never a fix): the audit log's record and append made no-ops (no
event is hashed, queued, awaited or written), to bound what the audit trail costs (§3)."""
# mypy: ignore-errors

import idp.audit.sql as audit_sql
from idp.app import create_app as _create


def create_app():
    audit_sql.SqlAuditLog.record = lambda self, event: None
    audit_sql.SqlAuditLog.append = lambda self, *a, **k: None
    return _create()

"""Experiment (measurement only, never a fix): the audit log's append made a no-op, to bound what §3 costs."""
# mypy: ignore-errors

import idp.audit.sql as audit_sql
from idp.app import create_app as _create


def create_app():
    audit_sql.SqlAuditLog.append = lambda self, *a, **k: None
    return _create()

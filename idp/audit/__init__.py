"""The security audit trail: an append-only, hash-chained event log with signed checkpoints."""

from idp.audit.context import IpTruncation, audit_context, hash_session_id
from idp.audit.events import AuditContext, AuditEvent, AuditLog, NullAuditLog

__all__ = ["AuditContext", "AuditEvent", "AuditLog", "IpTruncation", "NullAuditLog", "audit_context",
           "hash_session_id"]

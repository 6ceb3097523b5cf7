"""The security audit trail: an append-only, hash-chained event log with signed checkpoints."""

from idp.audit.events import AuditContext, AuditEvent, AuditLog, NullAuditLog

__all__ = ["AuditContext", "AuditEvent", "AuditLog", "NullAuditLog"]

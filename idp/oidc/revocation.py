"""Revoking grants, and the audit events that go with the token side's decisions."""

from __future__ import annotations

from typing import Any

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.storage.ephemeral import EphemeralStore
from idp.storage.sql import SqlStorage


class GrantRevoker:
    def __init__(self, storage: SqlStorage, ephemeral: EphemeralStore, audit: AuditLog) -> None:
        self._storage = storage
        self._ephemeral = ephemeral
        self._audit = audit

    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None:
        """Record an audit event; ``context`` says where the request came from."""
        self._audit.record(AuditEvent(type=event_type, context=context or AuditContext(), **fields))

    def revoke_grant(self, grant_id: str, reason: str) -> None:
        """Revoke the grant's refresh tokens and every access token issued under it."""
        self._storage.grants.revoke(grant_id, reason)
        self._ephemeral.revoke_by_grant(grant_id)

    def revoke_recorded(self, grant_id: str, revocation_reason: str, event_type: str, /, *,
                        context: AuditContext | None, **fields: Any) -> None:
        """:meth:`revoke_grant` and its event (``fields`` as :meth:`record` takes them), committed together."""
        with self._storage.db.transaction():
            self.revoke_grant(grant_id, revocation_reason)
            self.record(event_type, context=context, **fields)

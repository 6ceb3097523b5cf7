"""What an audit event is and the one verb every part of the provider uses to record it.

Callers write ``audit.record(AuditEvent(type="signin", outcome="failure", reason="wrong_password",
username=..., context=ctx))``. An event that describes a revocation or an administrative change is
recorded inside the same ``storage.db.transaction()`` as the change (the SQL audit log joins the
ambient transaction); the hot events of sign-in and token issuance are recorded right after their
state commits, outside any transaction, and ``record`` returns once they are committed (see
:mod:`idp.audit.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from (filled once per request by the HTTP layer, empty for the CLI)."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    session_id: str | None = None  # hashed before it is stored


@dataclass(frozen=True)
class AuditEvent:
    """One event. ``type`` is a dotted name (``signin``, ``token.issued``, ``key.rotated`` ...);
    ``outcome`` is ``success``, ``failure`` or ``denied``; ``reason`` a stable code."""

    type: str
    outcome: str = "success"
    subject: str | None = None
    username: str | None = None
    client_id: str | None = None
    adapter: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    context: AuditContext = field(default_factory=AuditContext)


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None:
        """Append the event (inside the ambient transaction when there is one). Never drops an
        event silently: a failure to write raises, and the caller's transaction rolls back."""


class NullAuditLog:
    """Records nothing; only for unit tests of parts that do not concern the audit trail."""

    def record(self, event: AuditEvent) -> None:
        return None

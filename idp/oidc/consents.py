"""The consents a person gave, as the sign-in flow reads and records them: remembered per
person, client and scope set (with the claims), each grant audited in the same transaction."""

from __future__ import annotations

from typing import Any, Protocol

from idp.audit.events import AuditContext
from idp.storage.models import Consent
from idp.storage.sql import SqlStorage


class Recorder(Protocol):
    """Records an audit event (idp.oidc.revocation.GrantRevoker)."""

    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...


class ConsentLedger:
    def __init__(self, storage: SqlStorage, recorder: Recorder) -> None:
        self._storage = storage
        self._recorder = recorder

    def get(self, subject_id: str, client_id: str) -> Consent | None:
        """What ``subject_id`` consented to for ``client_id``, if anything."""
        return self._storage.consents.get(subject_id, client_id)

    def grant(self, subject_id: str, client_id: str, scopes: set[str], claims: set[str], *,
              context: AuditContext) -> None:
        """Remember the consent and record ``consent.granted``, committed together."""
        with self._storage.db.transaction():
            self._storage.consents.grant(subject_id, client_id, scopes, claims)
            self._recorder.record("consent.granted", context=context, subject=subject_id, client_id=client_id,
                                  details={"scope": " ".join(sorted(scopes)), "claims": sorted(claims)})

"""Ending everything a person holds: every SSO session and every grant (its refresh tokens and the
access tokens issued under it). ``idp sessions revoke --person`` and the admin API call this.

Sessions and access tokens live in the short-lived store: only a process that reaches the same
store as the servers (Redis, or the server itself) can end them.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.types import ADMIN_ACTION
from idp.errors import NotFound
from idp.oidc.revocation import GrantRevoker
from idp.sessions import SessionStore
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage

REVOKE_ALL = "person.revoke_all"


@dataclass(frozen=True)
class Revoked:
    subject_id: str
    sessions: int
    grants: int


class PersonRevocation:
    def __init__(self, storage: SqlStorage, sessions: SessionStore, grants: GrantRevoker, audit: AuditLog) -> None:
        self.storage = storage
        self.sessions = sessions
        self.grants = grants
        self.audit = audit

    def person(self, person: str) -> Subject:
        """The person named by a subject id or a local account's username; NotFound otherwise."""
        person = person.strip()
        subject = self.storage.subjects.get(person) if 0 < len(person) <= 64 else None
        if subject is None and 0 < len(person) <= 255:
            account = self.storage.accounts.get_by_username(person.lower())
            subject = self.storage.subjects.get(account.subject_id) if account else None
        if subject is None:
            raise NotFound(f"no person {person!r} (a subject id or a local username)")
        return subject

    def revoke_all(self, subject_id: str, *, actor: str, context: AuditContext | None = None) -> Revoked:
        """End the person's sessions and revoke every active grant, recorded as ``admin.action``
        (``person.revoke_all``) with the counts, in the transaction of the grants' revocation."""
        with self.storage.db.transaction():
            grants = self.storage.grants.list_active_for_subject(subject_id)
            for grant in grants:
                self.grants.revoke_grant(grant.id, "admin")
            sessions = self.sessions.end_all_of(subject_id)
            self.audit.record(AuditEvent(
                type=ADMIN_ACTION, subject=subject_id, context=context or AuditContext(),
                details={"action": REVOKE_ALL, "actor": actor, "sessions": sessions, "grants": len(grants),
                         "clients": sorted({g.client_id for g in grants})}))
        return Revoked(subject_id=subject_id, sessions=sessions, grants=len(grants))

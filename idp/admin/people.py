"""Finding people (:class:`PeopleSearch`), and ending everything a person holds: every SSO
session and every grant (its refresh tokens and the access tokens issued under it).
``idp sessions revoke --person`` and the admin API call this.

Sessions and access tokens live in the short-lived store: only a process that reaches the same
store as the servers (Redis, or the server itself) can end them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.types import ADMIN_ACTION
from idp.identity.names import normalise_name
from idp.identity.personal_id import InvalidPersonalId, normalise_personal_id
from idp.identity.protection import personal_id_hash
from idp.mfa.reset import find_person
from idp.oidc.revocation import GrantRevoker
from idp.sessions import SessionStore, SsoSession
from idp.storage.models import Grant, Subject
from idp.storage.sql import SqlStorage

REVOKE_ALL = "person.revoke_all"
MAX_FOUND = 50


@dataclass(frozen=True)
class PersonFound:
    """What an administrator sees of a person found: never the personal ID number."""

    subject_id: str
    kind: str
    name: str | None
    username: str | None  # the local account's, if the person has one
    sources: list[str]  # the adapters that vouch for the person's claims
    personal_id_known: bool


class PeopleSearch:
    """Every person the provider knows (local accounts, citizens and officials linked from an
    upstream or a directory), found by part of a name or a username, or by the exact personal ID
    number through its keyed hash (the number is hashed here and neither stored nor recorded)."""

    def __init__(self, storage: SqlStorage, hash_key: bytes) -> None:
        self.storage = storage
        self._hash_key = hash_key

    def find(self, text: str) -> tuple[str, list[PersonFound]]:
        """``(how, people)``: ``how`` is ``personal_id`` when ``text`` is all digits (an invalid
        number finds nobody), else ``name`` (part of a name or a local username); at most
        :data:`MAX_FOUND`, by subject id."""
        wanted = normalise_name(text)
        if wanted.replace(" ", "").isascii() and wanted.replace(" ", "").isdigit():  # not "²" or "٣"
            try:
                number = normalise_personal_id(wanted)
            except InvalidPersonalId:
                return "personal_id", []
            subject = self.storage.subjects.get_by_personal_id_hash(personal_id_hash(number, self._hash_key))
            return "personal_id", [self._found(subject)] if subject is not None else []
        if not wanted:
            return "name", []
        subjects = {s.id: s for s in self.storage.subjects.find_by_name(wanted, MAX_FOUND)}
        folded = wanted.casefold()
        for account in self.storage.accounts.list():
            if folded in account.username.casefold() or folded in (account.name or "").casefold():
                subject = subjects.get(account.subject_id) or self.storage.subjects.get(account.subject_id)
                if subject is not None:
                    subjects[subject.id] = subject
        return "name", [self._found(subjects[key]) for key in sorted(subjects)[:MAX_FOUND]]

    def _found(self, subject: Subject) -> PersonFound:
        account = self.storage.accounts.get_by_subject(subject.id)
        name = subject.claims.get("name")
        return PersonFound(subject_id=subject.id, kind=subject.kind,
                           name=name if isinstance(name, str) else (account.name if account else None),
                           username=account.username if account else None, sources=sorted(subject.sources),
                           personal_id_known=subject.personal_id_hash is not None)


class LogoutNotifier(Protocol):
    def notify_person(self, subject_id: str | None, sid: str | None, client_ids: list[str]) -> int: ...


@dataclass(frozen=True)
class Revoked:
    subject_id: str
    sessions: int
    grants: int
    notified: int = 0  # back-channel logout tokens queued


class PersonRevocation:
    def __init__(self, storage: SqlStorage, sessions: SessionStore, grants: GrantRevoker, audit: AuditLog, *,
                 notifier: LogoutNotifier | None = None) -> None:
        """``notifier``: tells the relying parties with a back-channel logout URI (the server's)."""
        self.storage = storage
        self.sessions = sessions
        self.grants = grants
        self.audit = audit
        self.notifier = notifier

    def person(self, person: str) -> Subject:
        """The person named by a subject id or a local account's username; NotFound otherwise."""
        return find_person(self.storage, person)

    def revoke_all(self, subject_id: str, *, actor: str, context: AuditContext | None = None) -> Revoked:
        """End the person's sessions and revoke every active grant, recorded as ``admin.action``
        (``person.revoke_all``) with the counts, in the transaction of the grants' revocation."""
        with self.storage.db.transaction():
            sessions = self.sessions.end_all_of(subject_id)
            stored = list(self.storage.grants.list_active_for_subject(subject_id))
            grant_ids = sorted({g.id for g in stored} | {gid for s in sessions for gid in s.grants.values()})
            for grant_id in grant_ids:  # refresh tokens, and the access tokens issued under each grant
                self.grants.revoke_grant(grant_id, "admin")
            clients = sorted({g.client_id for g in stored} | {c for s in sessions for c in s.grants})
            self.audit.record(AuditEvent(
                type=ADMIN_ACTION, subject=subject_id, context=context or AuditContext(),
                details={"action": REVOKE_ALL, "actor": actor, "sessions": len(sessions), "grants": len(grant_ids),
                         "clients": clients}))
        notified = self._notify(subject_id, sessions, stored) if self.notifier is not None else 0
        return Revoked(subject_id=subject_id, sessions=len(sessions), grants=len(grant_ids), notified=notified)

    def _notify(self, subject_id: str, sessions: list[SsoSession], grants: list[Grant]) -> int:
        """A logout token to each client that registered a back-channel logout URI, as a logout
        sends (OIDC Back-Channel Logout 1.0): per ended session, and per revoked grant of a session
        this process could not reach (it lives in another server's memory, or had ended already),
        with the ``sid`` the grant recorded."""
        assert self.notifier is not None
        told = {(client_id, s.sid) for s in sessions for client_id in s.grants}
        unreached: dict[str | None, set[str]] = {}
        for grant in grants:
            if (grant.client_id, grant.sid) not in told:
                unreached.setdefault(grant.sid, set()).add(grant.client_id)
        return (sum(self.notifier.notify_person(s.subject_id, s.sid, sorted(s.grants)) for s in sessions)
                + sum(self.notifier.notify_person(subject_id, sid, sorted(clients))
                      for sid, clients in sorted(unreached.items(), key=lambda item: item[0] or "")))

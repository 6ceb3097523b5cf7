"""An administrator's reset of a person's second factors, whatever source they sign in with: the
TOTP authenticator, the recovery codes and every passkey go, so the person enrols again at their
next sign-in (the way back for someone who lost their authenticator and their recovery codes).
``idp users reset-mfa`` and the admin API (``DELETE /admin/people/{person}/second-factor``) call it.

The person is named by their subject id, a local account's username, or a username a configured
directory answers to (asked of the directory, then found by the person's link to it). A local
account's factors are reset as :meth:`AccountAdministration.reset_second_factor` does; anyone
else's (a directory official, an upstream person) are removed from their ``person_factors`` row
and the passkeys table in one transaction with the ``mfa.totp.removed`` event that names the
operator (``actor``) and what was removed (never a secret).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import AccountFinder
from idp.accounts.administration import AccountAdministration
from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.types import MFA_TOTP_REMOVED
from idp.errors import NotFound
from idp.mfa.totp import RECOVERY_PLACES
from idp.storage.models import PersonFactors, Subject
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore

#: The keys of a holder's ``extra`` that are second factors (the rest, e.g. roles, stays).
FACTOR_KEYS = ("totp", "totp_pending", "recovery")
MAX_NAME = 255


@dataclass(frozen=True)
class FactorsReset:
    """What a reset removed from the person (``holder``: ``account`` or ``person``)."""

    subject_id: str
    holder: str
    totp_removed: bool
    recovery_codes_removed: bool
    passkeys_removed: int


def find_person(storage: SqlStorage, name: str, directories: Sequence[tuple[str, AccountFinder]] = ()) -> Subject:
    """The person named by a subject id, a local account's username or a username one of
    ``directories`` (adapter id, adapter) answers to; NotFound otherwise (also when a directory
    knows the name but the person never signed in with it). A directory that cannot be reached
    raises SourceUnavailable."""
    name = name.strip()
    subject = storage.subjects.get(name) if 0 < len(name) <= 64 else None
    if subject is None and 0 < len(name) <= MAX_NAME:
        account = storage.accounts.get_by_username(name.lower())
        subject = storage.subjects.get(account.subject_id) if account else None
        for adapter_id, directory in directories if subject is None else ():
            external = directory.account_subject(name)
            link = storage.links.find(adapter_id, external) if external else None
            if link is not None:
                subject = storage.subjects.get(link.subject_id)
                break
    if subject is None:
        raise NotFound(f"no person {name[:MAX_NAME]!r} (a subject id, a local username or a directory username)")
    return subject


def _has_recovery(extra: dict[str, Any]) -> bool:
    return any(isinstance(extra.get(key), dict) and extra[key].get(codes) for key, codes in RECOVERY_PLACES)


class SecondFactorReset:
    def __init__(self, storage: SqlStorage, audit: AuditLog, *,
                 directories: Sequence[tuple[str, AccountFinder]] = ()) -> None:
        """``directories``: the configured sources that find an account by username."""
        self.storage = storage
        self.audit = audit
        self.directories = tuple(directories)
        self.factors = SqlFactorStore(storage.db)

    def person(self, name: str) -> Subject:
        return find_person(self.storage, name, self.directories)

    def reset(self, subject_id: str, *, actor: str, context: AuditContext | None = None) -> FactorsReset:
        """Remove every second factor of the person, recorded with ``actor``."""
        account = self.storage.accounts.get_by_subject(subject_id)
        if account is not None:
            passkeys = len(self.factors.passkeys_of(subject_id))
            before = dict(account.extra)
            AccountAdministration(self.storage, audit=self.audit).reset_second_factor(
                account.username, actor=actor, context=context)
            return FactorsReset(subject_id, "account", "totp" in before, _has_recovery(before), passkeys)
        if self.storage.subjects.get(subject_id) is None:
            raise NotFound(f"no person {subject_id[:64]!r}")
        seen: list[dict[str, Any]] = [{}]

        def drop(person: PersonFactors) -> PersonFactors:
            seen[0] = dict(person.extra)
            return person.replace(extra={k: v for k, v in person.extra.items() if k not in FACTOR_KEYS})

        with self.storage.db.transaction():
            if self.factors.person(subject_id) is not None:
                self.factors.update_person(subject_id, subject_id, drop)
            removed = sum(self.factors.remove_passkey(subject_id, p.id) for p in self.factors.passkeys_of(subject_id))
            made = FactorsReset(subject_id, "person", "totp" in seen[0], _has_recovery(seen[0]), removed)
            self.audit.record(AuditEvent(
                type=MFA_TOTP_REMOVED, subject=subject_id, context=context or AuditContext(),
                details={"action": "mfa.reset", "actor": actor, "holder": "person", "totp": made.totp_removed,
                         "recovery_codes": made.recovery_codes_removed, "passkeys_removed": removed}))
        return made

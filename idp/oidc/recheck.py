"""A refresh re-checks the person's directory accounts (idp.identity.recheck) at most every
``IDP_DIRECTORY_RECHECK_SECONDS``: the new tokens carry the roles and attributes the directory
gives now, and an account deleted or disabled there ends the grant (``invalid_grant``, audited).
A directory that does not answer refuses the refresh too (deny by default), without revoking.

Only a provider with such a directory pays for it: otherwise no read is added to a refresh.
"""

from __future__ import annotations

import time

from adapters.adapter_set import AdapterSet
from adapters.base import SourceUnavailable
from idp.audit.events import AuditContext, AuditLog
from idp.errors import GrantRefused
from idp.identity.protection import IdentityKeys
from idp.identity.recheck import AccountEnded, due_sources, lookup_adapters, recheck_sources
from idp.oidc.person_claims import PersonClaims
from idp.oidc.revocation import GrantRevoker
from idp.storage.models import Grant
from idp.storage.sql import SqlStorage


class DirectoryRecheck:
    def __init__(self, *, storage: SqlStorage, adapters: AdapterSet, keys: IdentityKeys, audit: AuditLog,
                 grants: GrantRevoker, person_claims: PersonClaims, max_age_seconds: int) -> None:
        self._storage = storage
        self._adapters = adapters
        self._lookups = lookup_adapters(adapters)
        self._keys = keys
        self._audit = audit
        self._grants = grants
        self._person_claims = person_claims
        self._max_age = max_age_seconds

    def at_refresh(self, grant: Grant, context: AuditContext | None) -> None:
        """Bring the grant's person up to date with their directory accounts (the token response
        then uses the new claims); GrantRefused when an account ended or cannot be checked."""
        if not self._lookups or grant.subject_id is None:
            return
        subject = self._storage.subjects.get(grant.subject_id)
        if subject is None:
            return
        due = due_sources(subject, self._lookups, self._max_age, time.time())
        try:
            if due:
                subject = recheck_sources(self._storage, self._adapters, subject, due, keys=self._keys,
                                          audit=self._audit)
        except AccountEnded as ended:
            self._grants.revoke_recorded(grant.id, ended.reason, "token.refreshed", context=context,
                                         **_refused(grant, ended.reason, ended.adapter_id))
            raise GrantRefused("the account is no longer valid in its directory") from None
        except SourceUnavailable:
            self._grants.record("token.refreshed", context=context, **_refused(grant, "source_unavailable", None))
            raise GrantRefused("the account's directory cannot confirm it now; sign in again later") from None
        self._person_claims(subject.id, subject)  # what this response's tokens carry


def _refused(grant: Grant, reason: str, adapter_id: str | None) -> dict[str, object]:
    return {"outcome": "denied", "client_id": grant.client_id, "subject": grant.subject_id, "adapter": adapter_id,
            "reason": reason, "details": {"grant_id": grant.id}}

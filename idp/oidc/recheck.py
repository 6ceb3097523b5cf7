"""A refresh re-checks the person's directory accounts (idp.identity.recheck) at most every
``IDP_DIRECTORY_RECHECK_SECONDS``: the new tokens carry the roles and attributes the directory
gives now, and an account deleted or disabled there ends the grant (``invalid_grant``, audited).
A directory that does not answer refuses the refresh too (deny by default), without revoking.

Only a provider with such a directory pays for it: otherwise no read is added to a refresh.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError

from adapters.adapter_set import AdapterSet
from adapters.base import SourceUnavailable
from idp.identity.recheck import AccountEnded, due_sources, lookup_adapters, recheck_sources
from idp.oidc.provider import Provider
from idp.storage.models import Grant

_lookups: weakref.WeakKeyDictionary[AdapterSet, frozenset[str]] = weakref.WeakKeyDictionary()


def recheck_at_refresh(provider: Provider, grant: Grant, request: Any) -> None:
    """Bring the grant's person up to date with their directory accounts (the token response then
    uses the new claims); raise InvalidGrantError when an account ended or cannot be checked."""
    adapters = provider.adapters
    lookups = _lookups.get(adapters)
    if lookups is None:
        lookups = _lookups[adapters] = lookup_adapters(adapters)
    if not lookups or grant.subject_id is None:
        return
    subject = provider.storage.subjects.get(grant.subject_id)
    if subject is None:
        return
    due = due_sources(subject, lookups, provider.settings.directory_recheck_seconds, time.time())
    try:
        if due:
            subject = recheck_sources(provider.storage, adapters, subject, due, keys=provider.identity_keys,
                                      audit=provider.audit)
    except AccountEnded as ended:
        with provider.storage.db.transaction():  # a revocation: its event commits with it
            provider.revoke_grant(grant.id, ended.reason)
            _refused(provider, grant, request, ended.reason, ended.adapter_id)
        raise InvalidGrantError("the account is no longer valid in its directory") from None
    except SourceUnavailable:
        _refused(provider, grant, request, "source_unavailable", None)
        raise InvalidGrantError("the account's directory cannot confirm it now; sign in again later") from None
    provider.person_claims(subject.id, subject)  # what this response's tokens carry


def _refused(provider: Provider, grant: Grant, request: Any, reason: str, adapter_id: str | None) -> None:
    provider.record("token.refreshed", request, outcome="denied", client_id=grant.client_id, subject=grant.subject_id,
                    adapter=adapter_id, reason=reason, details={"grant_id": grant.id})

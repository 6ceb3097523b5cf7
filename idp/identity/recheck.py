"""A person's directory accounts read again, between sign-ins (when a refresh token is used).

A source that can describe an account without its password (:class:`adapters.base.AccountLookup`,
a directory) is asked again once what it said is older than ``max_age`` seconds: the claims it
owns are replaced as at a sign-in (idp.identity.linking), and an account deleted or disabled there
loses its claims and raises :class:`AccountEnded` (and is asked again at every later refresh, so
none of the person's grants outlives it). A source that does not answer raises
:class:`adapters.base.SourceUnavailable`: nothing is changed, and the caller decides.
"""

from __future__ import annotations

from adapters.adapter_set import AdapterSet
from adapters.base import AccountGone, AccountLookup, AccountUnusable
from idp.audit.events import AuditLog
from idp.errors import IdpError
from idp.identity.linking import forget_source, link_identity
from idp.identity.protection import IdentityKeys
from idp.identity.sources import checked_at
from idp.storage.models import Subject
from idp.storage.sql import SqlStorage

HASHED_SUBJECT = "pid-hmac:"  # a link keyed by the personal ID number's hash (linking.py): no lookup


class AccountEnded(IdpError):
    """A directory account of the person is gone or may no longer sign in (``reason``)."""

    def __init__(self, adapter_id: str, reason: str) -> None:
        super().__init__(f"{adapter_id}: {reason}")
        self.adapter_id = adapter_id
        self.reason = reason


def lookup_adapters(adapters: AdapterSet) -> frozenset[str]:
    """The ids of the configured adapters that can look an account up again."""
    return frozenset(entry.id for entry in adapters.entries if isinstance(entry.adapter, AccountLookup))


def due_sources(subject: Subject, lookups: frozenset[str], max_age: int, now: float) -> list[str]:
    """The subject's sources that can be asked again and were last asked ``max_age`` or more ago."""
    return [source for source in subject.sources if source in lookups and now - checked_at(subject, source) >= max_age]


def recheck_sources(storage: SqlStorage, adapters: AdapterSet, subject: Subject, due: list[str], *,
                    keys: IdentityKeys, audit: AuditLog) -> Subject:
    """The subject after asking each ``due`` source about its account again (see module doc)."""
    links = {link.adapter: link for link in storage.links.list_for_subject(subject.id)}
    for adapter_id in due:
        link, adapter = links.get(adapter_id), adapters.get(adapter_id)
        if link is None or link.external_subject.startswith(HASHED_SUBJECT) or not isinstance(adapter, AccountLookup):
            continue
        try:
            identity = adapter.lookup(link.external_subject)
        except (AccountGone, AccountUnusable) as exc:
            forget_source(storage, subject.id, adapter_id, audit=audit)
            raise AccountEnded(adapter_id, exc.reason) from None
        subject = link_identity(storage, identity, hash_key=keys.hash_key, enc_key=keys.enc_key, audit=audit,
                                during="refresh")
    return subject

"""What the security console reads besides the audit queries (idp.console.queries): the database
those queries run on, one person (their subject and local account) and one relying party."""

from __future__ import annotations

from idp.oidc.provider import Provider
from idp.storage.db import Database
from idp.storage.models import Account, Client, Subject


def audit_database(provider: Provider) -> Database:
    """The database that holds the audit trail (the console's queries read it)."""
    return provider.storage.db


def person(provider: Provider, subject_id: str) -> tuple[Subject | None, Account | None]:
    """The subject ``subject_id`` and its local account (either may be gone)."""
    return provider.storage.subjects.get(subject_id), provider.storage.accounts.get_by_subject(subject_id)


def registered_client(provider: Provider, client_id: str) -> Client | None:
    """The stored registration of ``client_id`` (read now, not from the client cache)."""
    return provider.storage.clients.get(client_id)

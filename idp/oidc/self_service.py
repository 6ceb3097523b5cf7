"""What a signed-in person sees and changes of their own on ``/account``: their name, the services
they allowed, their sign-ins, their local account, and withdrawing a consent (which revokes the client's grants)."""

from __future__ import annotations

from typing import Any

from idp.audit.events import AuditContext
from idp.oidc.provider import Provider
from idp.sessions import SsoSession
from idp.storage.models import Account


def display_name(provider: Provider, session: SsoSession) -> str:
    """The person's name as their subject says, else the name they signed in with."""
    subject = provider.storage.subjects.get(session.subject_id)
    claims = subject.claims if subject else {}
    return str(claims.get("name") or session.username or "")


def local_account(provider: Provider, subject_id: str) -> Account | None:
    """The person's local account (one with a password and maybe a second factor), if any."""
    return provider.storage.accounts.get_by_subject(subject_id)


def services(provider: Provider, subject_id: str) -> list[dict[str, Any]]:
    """One entry per client the person consented to or whose grant (refresh tokens) is active:
    the scopes of both, and when it was first allowed."""
    found: dict[str, dict[str, Any]] = {}
    for consent in provider.storage.consents.list_for_subject(subject_id):
        found[consent.client_id] = {"scopes": set(consent.scopes), "granted_at": consent.granted_at}
    for grant in provider.storage.grants.list_active_for_subject(subject_id):
        entry = found.setdefault(grant.client_id, {"scopes": set(), "granted_at": grant.created_at})
        entry["scopes"] |= set(grant.scopes)
    listed = []
    for client_id, entry in found.items():
        client = provider.find_client(client_id)
        listed.append({"client_id": client_id, "client_name": client.name if client else client_id,
                       "scopes": sorted(entry["scopes"]), "granted_at": entry["granted_at"]})
    return listed


def signin_history(provider: Provider, subject_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The person's own latest sign-ins (from the audit trail), the sign-in method named as the
    adapter registry names it, ``{"vi": ..., "en": ...}`` (never a raw id such as ``dvcqg``); a
    method that is no configured adapter (an ``amr`` value) stays a code for the page's catalogue."""
    names = provider.adapters.names()
    return [{**row, "method": names.get(row["method"], row["method"])}
            for row in provider.recent_signins(subject_id, limit)]


def withdraw(provider: Provider, session: SsoSession, client_id: str, context: AuditContext) -> None:
    """End the person's consent to ``client_id`` and revoke its grants, in one transaction with
    their ``consent.withdrawn`` event (none when there was nothing to withdraw)."""
    with provider.storage.db.transaction():
        withdrawn = provider.storage.consents.withdraw(session.subject_id, client_id)
        revoked = [grant.id for grant in provider.storage.grants.list_active_for_subject(session.subject_id)
                   if grant.client_id == client_id]
        for grant_id in revoked:
            provider.revoke_grant(grant_id, "consent_withdrawn")
        if withdrawn or revoked:
            provider.record("consent.withdrawn", context=context, subject=session.subject_id, client_id=client_id)

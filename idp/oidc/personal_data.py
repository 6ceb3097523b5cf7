"""A person's rights over their personal data (Law 91/2025/QH15 on personal data protection,
docs/domain.md "Who signs in, and under which law"), served on ``/account``:

- :func:`held`: what the provider holds about them (their claims, local account, the identity
  sources linked to them, second factors, the organisations their live sign-ins say they may act
  for and where each came from), which services they consented to and which services received
  which claims, under which legal basis (recorded per release: ``token.issued``);
- downloading it as JSON or a readable HTML page (each download audited:
  ``personal_data.exported``);
- :func:`erase`: only after a recent sign-in (:func:`signed_in_recently`: within
  :data:`ERASURE_SIGN_IN_MAX_AGE`, as replacing a second factor), their profile, account, links,
  factors, consents and grants removed, every session ended, audited (``personal_data.erased``)
  with the personal ID number only as its keyed hash (the one already used for lookup, never the
  number). The audit trail keeps its earlier events,
  which name the person only by the internal subject id, until the retention period removes them.

Withdrawing consent per service stays in :mod:`idp.oidc.self_service`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from adapters.base import UPSTREAM
from idp.audit.events import AuditContext
from idp.audit.query import releases_to_services
from idp.audit.types import PERSONAL_DATA_ERASED, PERSONAL_DATA_EXPORTED
from idp.identity.claims import person_claims
from idp.mfa.totp import REAUTH_MAX_AGE
from idp.oidc.provider import Provider
from idp.oidc.self_service import signin_history
from idp.sessions import SsoSession
from idp.storage.sql.erasure import erase_subject
from policies.claims import CONSENT

EXPORTED = PERSONAL_DATA_EXPORTED
ERASED = PERSONAL_DATA_ERASED
#: How old (seconds) the sign-in of a session may be to erase the person: as for replacing a
#: second factor (idp.mfa.totp), an older one signs in again first.
ERASURE_SIGN_IN_MAX_AGE = REAUTH_MAX_AGE


def _time(value: Any) -> str | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")
    return None if value is None else str(value)


def _epoch(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def entitlements(provider: Provider, subject_id: str, names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """The organisations the person may act for (idp.oidc.flow.organisations), as the provider
    holds them: only in their live sign-in sessions, each kept until its session ends. Per
    organisation, source and adapter: the latest sign-in that named it (``named_at``) and until
    when a session keeps it (``kept_until``); ``names``: each adapter's name."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for session in sorted(provider.sessions.of_person(subject_id), key=lambda s: s.created_at):
        for entry in session.entitlements:  # a later session's record replaces an earlier one's
            adapter = str(entry.get("adapter") or session.adapter or "")
            source = str(entry.get("source") or UPSTREAM)
            key = (str(entry.get("tax_code")), source, adapter)
            found[key] = {
                "tax_code": key[0], "name": entry.get("name"), "org_eid": entry.get("org_eid"),
                "role": entry.get("role") or "employee", "source": source, "adapter": adapter,
                "adapter_name": names.get(adapter, {"vi": adapter, "en": adapter}),
                "named_at": _epoch(session.auth_time),
                "kept_until": _epoch(session.created_at + provider.sessions.absolute)}
    return sorted(found.values(), key=lambda e: (str(e["name"]), e["tax_code"], e["source"]))


def held(provider: Provider, subject_id: str) -> dict[str, Any]:
    """Everything the provider holds about the person, as a plain JSON-able document."""
    storage = provider.storage
    names = provider.adapters.names()
    subject = storage.subjects.get(subject_id)
    claims = person_claims(subject, provider.identity_keys.enc_key) if subject is not None else {}
    account = storage.accounts.get_by_subject(subject_id)
    links = storage.links.list_for_subject(subject_id)

    def client_name(client_id: str) -> str:
        client = provider.find_client(client_id)
        return client.name if client is not None and client.name else client_id

    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": {"claims": claims, "created_at": _time(subject.created_at) if subject else None,
                    "updated_at": _time(subject.updated_at) if subject else None},
        "local_account": None if account is None else {
            "username": account.username, "name": account.name, "email": account.email, "phone": account.phone,
            "second_factor": account.has_second_factor, "created_at": _time(account.created_at)},
        "identity_sources": [
            {"adapter": link.adapter, "name": names.get(link.adapter, {"vi": link.adapter, "en": link.adapter}),
             "subject_at_source": link.external_subject, "linked_at": _time(link.created_at),
             "last_sign_in": _time(link.last_login_at)} for link in links],
        "organisations": entitlements(provider, subject_id, names),
        "consents": [
            {"client_id": c.client_id, "client_name": client_name(c.client_id), "scopes": sorted(c.scopes),
             "claims": sorted(c.claims), "granted_at": _time(c.granted_at), "legal_basis": CONSENT}
            for c in storage.consents.list_for_subject(subject_id)],
        "releases": releases_to_services(storage.db, subject_id),
        "sign_ins": [{**row, "time": _time(row["time"])} for row in signin_history(provider, subject_id, 50)],
    }


def record_export(provider: Provider, subject_id: str, data_format: str, context: AuditContext) -> None:
    provider.record(EXPORTED, context=context, subject=subject_id, details={"format": data_format})


def signed_in_recently(session: SsoSession, now: float | None = None) -> bool:
    """Whether ``session``'s sign-in is recent enough to erase (:data:`ERASURE_SIGN_IN_MAX_AGE`)."""
    return (time.time() if now is None else now) - session.auth_time <= ERASURE_SIGN_IN_MAX_AGE


def erase(provider: Provider, subject_id: str, context: AuditContext) -> dict[str, int]:
    """Erase the person (see the module's docstring); what was removed, per table."""
    subject = provider.storage.subjects.get(subject_id)
    for grant in provider.storage.grants.list_active_for_subject(subject_id):
        provider.revoke_grant(grant.id, "erased")  # the access tokens in the short-lived store too
    removed = erase_subject(provider.storage.db, subject_id)
    provider.sessions.end_all_of(subject_id)
    provider.record(ERASED, context=context, subject=subject_id,
                    details={"personal_id_hash": subject.personal_id_hash if subject else None,
                             "removed": {table: count for table, count in removed.items() if count}})
    return removed

"""Which source says what about a person: each claim of a subject is owned by one source.

Every time a source reports an identity (a sign-in, or a directory re-check at a refresh), the
claims it owns are replaced by what it says now: a claim it no longer reports is removed (an
official taken out of a group loses the role), a changed value changes (a move to another agency).
A claim another source owns keeps that source's value (the first source of a name or birth date
stays authoritative, see linking.py); a claim no source owns yet goes to the source reporting it.
``Subject.sources`` records it all: ``{adapter id: {"claims": [names], "checked_at": epoch}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.audit.events import AuditEvent
from idp.audit.types import IDENTITY_CHANGED
from idp.storage.models import Subject

ROLES_CLAIM = "vn_roles"


def owners(subject: Subject) -> dict[str, str]:
    """Claim name -> the adapter id that owns it."""
    return {name: source for source, entry in subject.sources.items() for name in entry.get("claims", ())}


def checked_at(subject: Subject, adapter_id: str) -> int:
    """When ``adapter_id`` last vouched for the subject's claims (0: never recorded)."""
    return int((subject.sources.get(adapter_id) or {}).get("checked_at", 0))


def apply_source(subject: Subject, adapter_id: str, claims: Mapping[str, Any] | None, now: int) -> Subject:
    """The subject after ``adapter_id`` reported ``claims`` at ``now``; ``None``: the source no
    longer has the account (its claims are removed, and it is to be asked again: ``checked_at`` 0)."""
    owned_by = owners(subject)
    before = {name for name, source in owned_by.items() if source == adapter_id}
    reported = dict(claims or {})
    result = {name: value for name, value in subject.claims.items() if name not in before - set(reported)}
    owned: list[str] = []
    for name, value in reported.items():
        if owned_by.get(name, adapter_id) == adapter_id:
            result[name] = value
            owned.append(name)
    sources = {**subject.sources, adapter_id: {"claims": sorted(owned), "checked_at": now if claims is not None else 0}}
    return subject.replace(claims=result, sources=sources)


def changed_event(before: Subject, after: Subject, adapter_id: str, *, during: str) -> AuditEvent | None:
    """``identity.changed`` naming the claims that changed (never their values) and the roles
    added and removed, or None when nothing changed. ``during``: ``signin`` or ``refresh``."""
    names = sorted(n for n in set(before.claims) | set(after.claims) if before.claims.get(n) != after.claims.get(n))
    if not names:
        return None
    old_roles, new_roles = _roles(before.claims), _roles(after.claims)
    return AuditEvent(
        type=IDENTITY_CHANGED, subject=after.id, adapter=adapter_id,
        details={"claims": names, "roles_added": sorted(new_roles - old_roles),
                 "roles_removed": sorted(old_roles - new_roles), "during": during},
    )


def _roles(claims: Mapping[str, Any]) -> set[str]:
    value = claims.get(ROLES_CLAIM) or []
    return {str(role) for role in value} if isinstance(value, list) else {str(value)}

"""One person per personal ID number: every upstream identity of a citizen links to one subject.

``link_identity`` runs in one transaction with its audit events:
1. an identity already linked (same adapter, same upstream ``sub``) signs in as its subject;
2. else the subject with the same personal-ID hash gets a new link (the second upstream of a
   person finds the first one's subject, so every relying party sees the same pairwise ``sub``);
3. else an organisation's account (idp.identity.organisations) links to the subject of its tax
   code, so its second upstream, and a person acting for it, name the same organisation;
4. else a new subject is created.
Two first sign-ins of one person at once: both try to insert, the unique constraint on
``subjects.personal_id_hash`` (and on the link) lets one win, the other re-reads and joins it.

The number is never stored plain: the subject keeps its keyed hash and ciphertext, and the
claims stored on the subject and on each link never include it. Each claim of the subject is owned
by one source (idp.identity.sources): every sign-in replaces the claims its source owns, so a role
taken away or an agency changed in a directory shows at once, and an ``identity.changed`` event
names what changed. When two upstreams disagree on an attribute, each link keeps what its source
said, the subject keeps the first source's value, and an ``identity.conflict`` event names the
claims (never their values).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from adapters.base import Identity, UpstreamRejected
from idp.audit.events import AuditEvent, AuditLog
from idp.errors import AlreadyExists, IdpError
from idp.identity.organisations import KIND as ORGANISATION_KIND
from idp.identity.organisations import account_tax_code, organisation_id
from idp.identity.personal_id import InvalidPersonalId, normalise_personal_id
from idp.identity.protection import encrypt_personal_id, personal_id_hash
from idp.identity.sources import ROLES_CLAIM, apply_source, changed_event
from idp.storage.models import IdentityLink, Subject, utcnow
from idp.storage.sql import SqlStorage

PERSONAL_ID_CLAIM = "vn_personal_id"
NEVER_STORED = frozenset({PERSONAL_ID_CLAIM, "preferred_username"})
COMPARED_CLAIMS = ("name", "family_name", "middle_name", "given_name", "birthdate", "gender")
ATTEMPTS = 3


class LinkConflict(UpstreamRejected, IdpError):
    """The identity cannot be linked safely (an upstream account now names another person).
    An UpstreamRejected, so the sign-in callback refuses it like any other bad upstream answer."""

    reason = "identity_conflict"

    def __init__(self, message: str, event: AuditEvent | None = None) -> None:
        super().__init__(message)
        self.event = event


def stored_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims kept about a person: everything but the personal ID number."""
    return {k: v for k, v in claims.items() if k not in NEVER_STORED}


def identity_claims(identity: Identity) -> dict[str, Any]:
    """What the source reports about the person, as kept: its claims (never the personal ID
    number) and its roles (directory groups mapped to roles) as the ``vn_roles`` claim."""
    claims = stored_claims(identity.claims)
    if identity.roles:
        claims[ROLES_CLAIM] = list(identity.roles)
    return claims


def _external_subject(identity: Identity, number: str | None, hash_key: bytes) -> str:
    # Some upstreams use the personal ID number as ``sub``: then only its keyed hash is stored.
    if number is not None and identity.subject == number:
        return "pid-hmac:" + personal_id_hash(number, hash_key)
    return identity.subject


def linked_subject(storage: SqlStorage, identity: Identity, *, hash_key: bytes) -> str | None:
    """The subject this identity would sign in as, read without writing anything (no link made,
    no claim replaced, no sign-in recorded): its link, else the subject with the same personal ID
    number (an organisation's account: tax code); None for a person not seen before (or a number
    :func:`link_identity` would refuse)."""
    raw_number = identity.claims.get(PERSONAL_ID_CLAIM)
    try:
        number = normalise_personal_id(raw_number) if raw_number is not None else None
    except InvalidPersonalId:
        return None
    link = storage.links.find(identity.adapter_id, _external_subject(identity, number, hash_key))
    if link is not None:
        return link.subject_id
    tax_code = account_tax_code(identity.claims) if number is None else None
    subject = (storage.subjects.get_by_personal_id_hash(personal_id_hash(number, hash_key)) if number
               else storage.subjects.get(organisation_id(tax_code)) if tax_code else None)
    return subject.id if subject is not None else None


def link_identity(
    storage: SqlStorage, identity: Identity, *, hash_key: bytes, enc_key: bytes, audit: AuditLog,
    during: str = "signin",
) -> Subject:
    """The subject of this identity, creating or linking it, with the claims its source owns
    replaced by what the source says now; race-free (see module doc). ``during``: ``signin``, or
    ``refresh`` for a directory's account looked up again (the link's last sign-in stays)."""
    raw_number = identity.claims.get(PERSONAL_ID_CLAIM)
    try:
        number = normalise_personal_id(raw_number) if raw_number is not None else None
    except InvalidPersonalId as exc:
        raise LinkConflict(f"cannot link: {exc}") from None
    number_hash = personal_id_hash(number, hash_key) if number is not None else None
    external = _external_subject(identity, number, hash_key)
    for _ in range(ATTEMPTS):
        try:
            with storage.db.transaction():
                return _link_once(storage, identity, number, number_hash, external, enc_key, audit, during)
        except AlreadyExists:
            continue  # another sign-in of the same person won a race outside a savepoint: re-read
        except LinkConflict as exc:
            if exc.event is not None:
                audit.record(exc.event)  # after the rollback, so the refusal stays on record
            raise
    raise LinkConflict("the identity kept changing while it was being linked; try again")


def _link_once(
    storage: SqlStorage,
    identity: Identity,
    number: str | None,
    number_hash: str | None,
    external: str,
    enc_key: bytes,
    audit: AuditLog,
    during: str,
) -> Subject:
    claims = identity_claims(identity)
    link = storage.links.find(identity.adapter_id, external)
    if link is not None:
        subject = storage.subjects.get(link.subject_id)
        if subject is None:
            raise LinkConflict("the linked subject no longer exists")
        if number_hash is not None and subject.personal_id_hash not in (None, number_hash):
            event = _conflict_event(subject.id, identity, reason="personal_id_changed", claims=[])
            raise LinkConflict("this upstream account now names another person", event)
        if during == "signin":
            storage.links.record_login(link.id, claims, utcnow())
        else:
            storage.links.update_claims(link.id, claims)
        subject, changed = _report(storage, subject.id, identity.adapter_id, claims, during)
        if changed is not None:
            audit.record(changed)
        return subject
    subject, created = _find_or_create_subject(storage, identity, number, number_hash, enc_key, claims)
    # AlreadyExists here means the same upstream identity was linked concurrently: it rolls the
    # transaction back (no orphan subject) and link_identity retries, finding that link.
    storage.links.add(
        IdentityLink(id=secrets.token_hex(16), subject_id=subject.id, adapter=identity.adapter_id,
                     external_subject=external, claims=claims)
    )  # fmt: skip
    differing: list[str] = []
    changed = None
    if not created:
        differing = [name for name in COMPARED_CLAIMS if _differs(subject.claims, claims, name)]
        # What the new source adds is its own; what another source owns is not overwritten.
        subject, changed = _report(storage, subject.id, identity.adapter_id, claims, during)
    # Events last: the audit chain's head stays locked until the transaction ends.
    audit.record(
        AuditEvent(type="identity.linked", subject=subject.id, adapter=identity.adapter_id,
                   details={"created_subject": created, "by_personal_id": number_hash is not None})
    )  # fmt: skip
    if differing:
        audit.record(_conflict_event(subject.id, identity, reason="attribute_conflict", claims=differing))
    if changed is not None:
        audit.record(changed)
    return subject


def _report(storage: SqlStorage, subject_id: str, adapter_id: str, claims: dict[str, Any] | None,
            during: str) -> tuple[Subject, AuditEvent | None]:
    """Store what the source reports now (None: it no longer has the account); the subject after,
    and the ``identity.changed`` event to record (None when nothing changed)."""
    now = int(time.time())
    seen: list[Subject] = []

    def report(current: Subject) -> Subject:
        seen[:] = [current]
        return apply_source(current, adapter_id, claims, now)

    after = storage.subjects.update(subject_id, report)
    return after, changed_event(seen[0], after, adapter_id, during=during)


def forget_source(storage: SqlStorage, subject_id: str, adapter_id: str, *, audit: AuditLog) -> Subject:
    """The source no longer has the person's account (deleted, disabled): its claims go."""
    with storage.db.transaction():
        subject, changed = _report(storage, subject_id, adapter_id, None, "refresh")
        if changed is not None:
            audit.record(changed)
    return subject


def _find_or_create_subject(
    storage: SqlStorage,
    identity: Identity,
    number: str | None,
    number_hash: str | None,
    enc_key: bytes,
    claims: dict[str, Any],
) -> tuple[Subject, bool]:
    if number_hash is not None:
        existing = storage.subjects.get_by_personal_id_hash(number_hash)
        if existing is not None:
            return existing, False
    tax_code = account_tax_code(identity.claims)
    if tax_code is not None:  # an organisation's account: one subject per tax code
        return _find_or_create_organisation(storage, identity, organisation_id(tax_code), claims)
    subject = Subject(
        id=secrets.token_hex(16),
        kind="person",
        personal_id_hash=number_hash,
        personal_id_enc=encrypt_personal_id(number, enc_key) if number is not None else None,
        claims=claims,
        sources={identity.adapter_id: {"claims": sorted(claims), "checked_at": int(time.time())}},
    )
    try:
        return storage.subjects.add(subject), True
    except AlreadyExists:
        if number_hash is None:
            raise
        winner = storage.subjects.get_by_personal_id_hash(number_hash)
        if winner is None:
            raise
        return winner, False


def _find_or_create_organisation(storage: SqlStorage, identity: Identity, subject_id: str,
                                 claims: dict[str, Any]) -> tuple[Subject, bool]:
    """The organisation's subject, whose id is derived from its tax code (idp.identity.organisations):
    a second account of it (another upstream) links to the first one's. Two first sign-ins at once:
    the loser's AlreadyExists rolls its transaction back and link_identity retries, finding it."""
    existing = storage.subjects.get(subject_id)
    if existing is not None:
        return existing, False
    subject = Subject(id=subject_id, kind=ORGANISATION_KIND, claims=claims,
                      sources={identity.adapter_id: {"claims": sorted(claims), "checked_at": int(time.time())}})
    return storage.subjects.add(subject), True


def _differs(first: Mapping[str, Any], second: Mapping[str, Any], name: str) -> bool:
    return name in first and name in second and first[name] != second[name]


def _conflict_event(subject_id: str, identity: Identity, *, reason: str, claims: list[str]) -> AuditEvent:
    return AuditEvent(
        type="identity.conflict",
        outcome="success" if reason == "attribute_conflict" else "denied",
        subject=subject_id,
        adapter=identity.adapter_id,
        reason=reason,
        details={"claims": claims},
    )

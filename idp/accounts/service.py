"""Creating local accounts and checking their passwords."""

from __future__ import annotations

import secrets

from idp.accounts.passwords import check_policy, hash_password, needs_rehash, verify_password
from idp.audit.events import AuditEvent, AuditLog
from idp.audit.sql import SqlAuditLog
from idp.audit.types import ACCOUNT_CHANGED, ACCOUNT_CREATED
from idp.errors import IdpError
from idp.storage.models import Account, Subject
from idp.storage.sql import SqlStorage

#: Roles a local account may hold (``Account.extra["roles"]``); ``auditor`` opens the security console,
#: ``administrator`` the admin API (``/admin/``, with a fresh second factor).
ROLES = ("auditor", "administrator")


class UnknownRole(ValueError, IdpError):
    """A role name that is not one of :data:`ROLES`."""


def new_id() -> str:
    return secrets.token_urlsafe(16)


def create_local_account(
    storage: SqlStorage,
    username: str,
    password: str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    kind: str = "official",
    has_second_factor: bool = False,
    audit: AuditLog | None = None,
    actor: str | None = None,
) -> Account:
    """Create a subject and its local account in one transaction (policy-checked password),
    recording ``account.created`` in that transaction."""
    username = username.strip().lower()
    if not username or len(username) > 255 or any(c.isspace() for c in username):
        raise ValueError("username must be 1-255 characters without spaces")
    check_policy(password, has_second_factor=has_second_factor)
    claims = {k: v for k, v in {"name": name, "email": email, "phone_number": phone}.items() if v}
    subject = Subject(id=new_id(), kind=kind, claims=claims)
    account = Account(
        id=new_id(),
        subject_id=subject.id,
        username=username,
        password_hash=hash_password(password),
        name=name,
        email=email,
        phone=phone,
        has_second_factor=has_second_factor,
    )
    audit = audit or SqlAuditLog(storage.db)
    with storage.db.transaction():
        storage.subjects.add(subject)
        stored = storage.accounts.add(account)
        audit.record(AuditEvent(type=ACCOUNT_CREATED, subject=subject.id, username=username,
                                details={"actor": actor, "kind": kind}))
    return stored


def authenticate_local(storage: SqlStorage, username: str, password: str) -> Account | None:
    """The account when the password is right and the account enabled; None otherwise.

    An unknown username costs one argon2id verification too, so timing does not tell them apart.
    """
    account = storage.accounts.get_by_username(username.strip())
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or account is None or account.disabled:
        return None
    if needs_rehash(account.password_hash):
        new_hash = hash_password(password)
        account = storage.accounts.update(account.id, lambda a: a.replace(password_hash=new_hash))
    return account


def account_roles(account: Account | None) -> tuple[str, ...]:
    """The roles an account holds (none for a missing or disabled account)."""
    if account is None or account.disabled:
        return ()
    roles = account.extra.get("roles") or ()
    return tuple(r for r in roles if isinstance(r, str))


def set_role(storage: SqlStorage, username: str, role: str, *, granted: bool, audit: AuditLog | None = None,
             actor: str | None = None) -> Account:
    """Grant (or take back) a role of a local account, recording ``account.changed`` in the same
    transaction. Raises :class:`UnknownRole`, or ``ValueError`` for an unknown username."""
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; known roles: {', '.join(ROLES)}")
    account = storage.accounts.get_by_username(username.strip())
    if account is None:
        raise ValueError(f"no local account {username.strip()!r}")

    def change(current: Account) -> Account:
        roles = [r for r in (current.extra.get("roles") or []) if r != role]
        if granted:
            roles.append(role)
        return current.replace(extra={**current.extra, "roles": sorted(roles)})

    audit = audit or SqlAuditLog(storage.db)
    with storage.db.transaction():
        updated = storage.accounts.update(account.id, change)
        audit.record(AuditEvent(type=ACCOUNT_CHANGED, subject=account.subject_id, username=account.username,
                                details={"action": "role.granted" if granted else "role.revoked", "role": role,
                                         "actor": actor}))
    return updated

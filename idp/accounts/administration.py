"""An administrator's changes to local accounts: find, disable and enable, reset the password,
reset two-step verification. ``idp users disable|enable|reset-password|reset-mfa`` and the admin
API call these.

Each change is a compare-and-swap update of the account recorded in the same transaction with who
did it (``actor``) and what changed before and after (never a password, its hash or a factor's
secret).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.accounts.passwords import check_policy, hash_password
from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.sql import SqlAuditLog
from idp.audit.types import ACCOUNT_CHANGED, MFA_TOTP_REMOVED
from idp.errors import NotFound
from idp.mfa.totp import totp_confirmed
from idp.storage.models import Account
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore

MAX_FOUND = 50
GENERATED_PASSWORD_BYTES = 18


def account_view(account: Account) -> dict[str, Any]:
    """What an administrator sees of an account (no hash, no factor secret)."""
    return {
        "username": account.username, "subject_id": account.subject_id, "name": account.name,
        "email": account.email, "phone": account.phone, "disabled": account.disabled,
        "second_factor": totp_confirmed(account), "roles": list(account.extra.get("roles") or []),
    }


@dataclass(frozen=True)
class AccountChange:
    """A change made: the account before and after (``password``: a generated one, shown once)."""

    before: Account
    after: Account
    password: str | None = None


class AccountAdministration:
    def __init__(self, storage: SqlStorage, *, audit: AuditLog | None = None) -> None:
        self.storage = storage
        self.audit = audit or SqlAuditLog(storage.db)

    def get(self, username: str) -> Account:
        account = self.storage.accounts.get_by_username(username.strip().lower()) if len(username) <= 255 else None
        if account is None:
            raise NotFound(f"no local account {username.strip()!r}")
        return account

    def find(self, text: str) -> list[Account]:
        """Local accounts whose username or name contains ``text`` (case and accents as typed are
        compared case-insensitively), at most :data:`MAX_FOUND`, by username."""
        wanted = text.strip().casefold()
        found = [a for a in self.storage.accounts.list()
                 if not wanted or wanted in a.username.casefold() or wanted in (a.name or "").casefold()]
        return sorted(found, key=lambda a: a.username)[:MAX_FOUND]

    def set_enabled(self, username: str, enabled: bool, *, actor: str, context: AuditContext | None = None
                    ) -> AccountChange:
        """Disable an account (its password no longer signs in) or enable it again."""
        return self._change(username, lambda a: a.replace(disabled=not enabled),
                            "account.enabled" if enabled else "account.disabled", actor=actor, context=context)

    def reset_password(self, username: str, *, actor: str, password: str | None = None,
                       context: AuditContext | None = None) -> AccountChange:
        """Set a new password (policy-checked), or generate one when none is given (returned once)."""
        import secrets

        account = self.get(username)
        clear = password if password is not None else secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        check_policy(clear, has_second_factor=account.has_second_factor)
        new_hash = hash_password(clear)
        made = self._change(username, lambda a: a.replace(password_hash=new_hash), "password.reset",
                            actor=actor, context=context)
        return AccountChange(before=made.before, after=made.after, password=None if password is not None else clear)

    def reset_second_factor(self, username: str, *, actor: str, context: AuditContext | None = None
                            ) -> AccountChange:
        """Remove the account's TOTP factor, its passkeys and its recovery codes (it enrols again at
        its next sign-in to the account pages); recorded as ``mfa.totp.removed`` by ``actor``, with
        the number of passkeys removed."""
        def drop(a: Account) -> Account:
            extra = {k: v for k, v in a.extra.items() if k not in ("totp", "totp_pending", "recovery")}
            return a.replace(extra=extra, has_second_factor=False)

        factors = SqlFactorStore(self.storage.db)
        subject_id = self.get(username).subject_id
        return self._change(username, drop, "mfa.reset", actor=actor, context=context, event_type=MFA_TOTP_REMOVED,
                            also=lambda: {"passkeys_removed": sum(
                                factors.remove_passkey(subject_id, p.id) for p in factors.passkeys_of(subject_id))})

    def _change(self, username: str, change: Callable[[Account], Account], action: str, *, actor: str,
                context: AuditContext | None, event_type: str = ACCOUNT_CHANGED,
                also: Callable[[], dict[str, Any]] | None = None) -> AccountChange:
        """Apply ``change`` and record it; ``also``: more of the change, made in the same transaction,
        whose details join the event's."""
        account = self.get(username)
        seen: list[Account] = []

        def updater(current: Account) -> Account:
            seen[:] = [current]
            return change(current)

        with self.storage.db.transaction():
            after = self.storage.accounts.update(account.id, updater)
            before = seen[0]
            old, new = account_view(before), account_view(after)
            names = sorted(k for k in old if old[k] != new[k])
            details: dict[str, Any] = {"action": action, "actor": actor, "before": {k: old[k] for k in names},
                                       "after": {k: new[k] for k in names}}
            if also is not None:
                details.update(also())
            self.audit.record(AuditEvent(type=event_type, subject=after.subject_id, username=after.username,
                                         details=details, context=context or AuditContext()))
        return AccountChange(before=before, after=after)

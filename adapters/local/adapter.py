"""Password sign-in against the local accounts (argon2id hashes in the durable store).

The identity's ``subject`` is the local subject id the account belongs to (no identity link is
needed); ``amr`` is ``pwd``; ``acr`` is left to policies. A disabled account is reported as such
only when the password was right, so the outcome never tells whether a username exists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError

from adapters.base import AccountUnusable, Identity, InvalidCredentials, SourceUnavailable
from adapters.config import display_name_for
from idp.accounts.passwords import verify_password
from idp.accounts.service import authenticate_local
from idp.errors import StorageError
from idp.mfa.totp import totp_confirmed
from idp.storage.models import Account
from idp.storage.sql import SqlStorage


class LocalPasswordAdapter:
    """:class:`adapters.base.PasswordAdapter` over ``idp.accounts.service.authenticate_local``."""

    def __init__(
        self, id: str, storage: SqlStorage, *, issuer: str, display_names: Mapping[str, str] | None = None
    ) -> None:
        self.id = id
        self.storage = storage
        self.issuer = issuer
        self._names = dict(display_names or {})

    def display_name(self, locale: str) -> str:
        return display_name_for(self._names, locale, "Tài khoản nội bộ" if locale.startswith("vi") else "Local account")

    def authenticate(self, username: str, password: str) -> Identity:
        """Check the password; raise InvalidCredentials, AccountUnusable(reason="account_disabled")
        or SourceUnavailable (database down)."""
        try:
            account = authenticate_local(self.storage, username, password)
            if account is None:
                self._raise_for_refused(username, password)
        except (SQLAlchemyError, StorageError):
            raise SourceUnavailable("local account store unavailable") from None
        assert account is not None
        return self.identity_of(account)

    def _raise_for_refused(self, username: str, password: str) -> None:
        account = self.storage.accounts.get_by_username(username.strip())
        if account is not None and account.disabled and verify_password(account.password_hash, password):
            raise AccountUnusable("account disabled", reason="account_disabled")
        raise InvalidCredentials()

    def identity_of(self, account: Account) -> Identity:
        claims = {
            "preferred_username": account.username,
            "name": account.name,
            "email": account.email,
            "phone_number": account.phone,
        }
        roles = account.extra.get("roles", ())
        return Identity(
            subject=account.subject_id,
            adapter_id=self.id,
            issuer=self.issuer,
            auth_time=int(time.time()),
            amr=("pwd",),
            claims={k: v for k, v in claims.items() if v},
            # Read from the row just checked: the login flow asks for the code without reading it again.
            evidence={"account_id": account.id, "has_second_factor": account.has_second_factor,
                      "totp_enrolled": totp_confirmed(account),
                      **({} if account.holds_passkey is None else {"passkey_enrolled": account.holds_passkey})},
            roles=tuple(str(r) for r in roles) if isinstance(roles, list | tuple) else (),
        )

"""Whose second factors: every person holds them, whatever source they sign in with.

A person with a local account keeps their TOTP factor in the account (``accounts.extra``, as
before); anyone else (a directory official, someone from an upstream) in a ``person_factors`` row
of their subject. A *holder id* names either: the account id, or ``person:<subject id>``. The
factor services (idp/mfa/totp.py) read and change a holder's factor keys through here and seal
secrets with the holder id as associated data, so a sealed secret copied to another holder does not
open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idp.storage.models import Account, PersonFactors
from idp.storage.sql import SqlStorage
from idp.storage.sql.factors import SqlFactorStore

PERSON_PREFIX = "person:"


@dataclass(frozen=True)
class Holder:
    """The factor keys (``totp``, ``totp_pending``) of one person, and the name they show in an app."""

    id: str
    subject_id: str
    username: str
    extra: dict[str, Any] = field(default_factory=dict)


def _confirmed(extra: dict[str, Any]) -> bool:
    factor = extra.get("totp")
    return bool(isinstance(factor, dict) and factor.get("confirmed"))


class FactorHolders:
    """Reads and compare-and-swap updates of holders, over the account and person-factor stores."""

    def __init__(self, storage: SqlStorage, factors: SqlFactorStore | None = None) -> None:
        self.storage = storage
        self.factors = factors or SqlFactorStore(storage.db)

    def holder_id(self, subject_id: str) -> str:
        """The holder of a person's factors: their local account, else their own person row."""
        account = self.storage.accounts.get_by_subject(subject_id)
        return account.id if account is not None else PERSON_PREFIX + subject_id

    def get(self, holder_id: str) -> Holder | None:
        """The holder (a person without factors yet has an empty one); None for an unknown account."""
        if holder_id.startswith(PERSON_PREFIX):
            subject_id = holder_id.removeprefix(PERSON_PREFIX)
            person = self.factors.person(subject_id)
            if person is None:
                return Holder(holder_id, subject_id, "") if self.storage.subjects.get(subject_id) else None
            return Holder(holder_id, subject_id, person.username, dict(person.extra))
        account = self.storage.accounts.get(holder_id)
        return None if account is None else Holder(account.id, account.subject_id, account.username,
                                                   dict(account.extra))

    def update(self, holder_id: str, change: Callable[[dict[str, Any]], dict[str, Any]], *,
               username: str = "") -> Holder:
        """Apply ``change`` to the holder's ``extra`` (retried on a concurrent write); a person's
        row is made on the first write, named ``username``. An account's ``has_second_factor``
        follows its TOTP factor."""
        if holder_id.startswith(PERSON_PREFIX):
            subject_id = holder_id.removeprefix(PERSON_PREFIX)
            person = self.factors.update_person(subject_id, username or subject_id,
                                                lambda p: _person_changed(p, change))
            return Holder(holder_id, subject_id, person.username, dict(person.extra))

        def account_changed(account: Account) -> Account:
            extra = change(dict(account.extra))
            return account.replace(extra=extra, has_second_factor=_confirmed(extra))

        account = self.storage.accounts.update(holder_id, account_changed)
        return Holder(account.id, account.subject_id, account.username, dict(account.extra))


def _person_changed(person: PersonFactors, change: Callable[[dict[str, Any]], dict[str, Any]]) -> PersonFactors:
    return person.replace(extra=change(dict(person.extra)))

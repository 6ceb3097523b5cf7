"""SQL store of the second factors held against a person: passkeys, and the TOTP factor of a person
without a local account (a local account keeps its own in ``accounts.extra``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from idp.errors import AlreadyExists, NotFound
from idp.storage.db import Database
from idp.storage.models import Passkey, PersonFactors
from idp.storage.schema import passkeys, person_factors
from idp.storage.sql.base import aware, cas_update, insert_row, keyed_select, select_one


def _load_person(row: Any) -> PersonFactors:
    return PersonFactors(subject_id=row["subject_id"], username=row["username"], extra=dict(row["extra"]),
                         version=row["version"], created_at=aware(row["created_at"]),  # type: ignore[arg-type]
                         updated_at=aware(row["updated_at"]))  # type: ignore[arg-type]


def _dump_person(person: PersonFactors) -> dict[str, Any]:
    return {"subject_id": person.subject_id, "username": person.username, "extra": person.extra,
            "created_at": person.created_at, "updated_at": person.updated_at}


def _load_passkey(row: Any) -> Passkey:
    return Passkey(id=row["id"], subject_id=row["subject_id"], credential_id=row["credential_id"],
                   public_key=bytes(row["public_key"]), sign_count=int(row["sign_count"]), aaguid=row["aaguid"],
                   backed_up=bool(row["backed_up"]), name=row["name"], transports=tuple(row["transports"] or ()),
                   version=row["version"], created_at=aware(row["created_at"]),  # type: ignore[arg-type]
                   last_used_at=aware(row["last_used_at"]))


class SqlFactorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- a person's TOTP factor (people without a local account)

    def person(self, subject_id: str) -> PersonFactors | None:
        row = select_one(self.db, _PERSON_BY_SUBJECT, subject_id=subject_id)
        return _load_person(row) if row else None

    def update_person(self, subject_id: str, username: str,
                      updater: Callable[[PersonFactors], PersonFactors]) -> PersonFactors:
        """Compare-and-swap update of the person's row, made (empty, named ``username``) when missing."""
        if self.person(subject_id) is None:
            insert = PersonFactors(subject_id=subject_id, username=username[:255])
            with contextlib.suppress(AlreadyExists):  # a concurrent first write made it: update that one
                insert_row(self.db, person_factors, {**_dump_person(insert), "version": 1}, "person factors")
        return cas_update(self.db, person_factors, person_factors.c.subject_id == subject_id, _load_person,
                          _dump_person, updater, "person factors")

    # -- passkeys

    def add_passkey(self, passkey: Passkey) -> Passkey:
        """Store a new credential; AlreadyExists when its credential id is registered (to anyone)."""
        insert_row(self.db, passkeys, {
            "id": passkey.id, "subject_id": passkey.subject_id, "credential_id": passkey.credential_id,
            "public_key": passkey.public_key, "sign_count": passkey.sign_count, "aaguid": passkey.aaguid,
            "backed_up": passkey.backed_up, "transports": list(passkey.transports), "name": passkey.name,
            "version": 1, "created_at": passkey.created_at, "last_used_at": passkey.last_used_at}, "passkey")
        return passkey.replace(version=1)

    def passkeys_of(self, subject_id: str) -> Sequence[Passkey]:
        query = select(passkeys).where(passkeys.c.subject_id == subject_id).order_by(passkeys.c.created_at)
        with self.db.connect() as conn:
            return [_load_passkey(r) for r in conn.execute(query).mappings().all()]

    def passkey_by_credential(self, credential_id: str) -> Passkey | None:
        row = select_one(self.db, _PASSKEY_BY_CREDENTIAL, credential_id=credential_id)
        return _load_passkey(row) if row else None

    def record_passkey_use(self, passkey: Passkey, sign_count: int, at: datetime) -> bool:
        """Move the counter on from the value read in ``passkey`` (False when another use moved it first)."""
        with self.db.connect() as conn:
            result = conn.execute(update(passkeys).where(passkeys.c.id == passkey.id,
                                                         passkeys.c.version == passkey.version)
                                  .values(sign_count=sign_count, last_used_at=at, version=passkey.version + 1))
        return result.rowcount == 1

    def rename_passkey(self, subject_id: str, passkey_id: str, name: str) -> None:
        with self.db.connect() as conn:
            result = conn.execute(update(passkeys).where(passkeys.c.id == passkey_id,
                                                         passkeys.c.subject_id == subject_id)
                                  .values(name=name[:64], version=passkeys.c.version + 1))
        if result.rowcount != 1:
            raise NotFound("passkey not found")

    def remove_passkey(self, subject_id: str, passkey_id: str) -> bool:
        """Remove one of the person's passkeys; False when they have none by that id."""
        with self.db.connect() as conn:
            result = conn.execute(delete(passkeys).where(passkeys.c.id == passkey_id,
                                                         passkeys.c.subject_id == subject_id))
        return bool(result.rowcount == 1)


_PERSON_BY_SUBJECT = keyed_select(person_factors, "subject_id")
_PASSKEY_BY_CREDENTIAL = keyed_select(passkeys, "credential_id")

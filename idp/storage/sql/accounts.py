"""SQL implementations of :class:`SubjectStore` and :class:`AccountStore`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import exists, select

from idp.storage.db import Database
from idp.storage.models import Account, Subject
from idp.storage.schema import accounts, passkeys, subjects
from idp.storage.sql.base import aware, cas_update, insert_row, keyed_select, select_one


def load_subject(row: Any) -> Subject:
    return Subject(
        id=row["id"],
        kind=row["kind"],
        personal_id_hash=row["personal_id_hash"],
        personal_id_enc=row["personal_id_enc"],
        claims=dict(row["claims"]),
        sources=dict(row["sources"] or {}),
        version=row["version"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(row["updated_at"]),  # type: ignore[arg-type]
    )


def _dump_subject(subject: Subject) -> dict[str, Any]:
    return {
        "id": subject.id,
        "kind": subject.kind,
        "personal_id_hash": subject.personal_id_hash,
        "personal_id_enc": subject.personal_id_enc,
        "claims": subject.claims,
        "sources": subject.sources,
        "created_at": subject.created_at,
        "updated_at": subject.updated_at,
    }


def _load_account(row: Any) -> Account:
    return Account(
        id=row["id"],
        subject_id=row["subject_id"],
        username=row["username"],
        password_hash=row["password_hash"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        has_second_factor=bool(row["has_second_factor"]),
        disabled=bool(row["disabled"]),
        extra=dict(row["extra"]),
        version=row["version"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(row["updated_at"]),  # type: ignore[arg-type]
        holds_passkey=None if row.get("holds_passkey") is None else bool(row["holds_passkey"]),
    )


def _dump_account(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "subject_id": account.subject_id,
        "username": account.username.lower(),
        "password_hash": account.password_hash,
        "name": account.name,
        "email": account.email,
        "phone": account.phone,
        "has_second_factor": account.has_second_factor,
        "disabled": account.disabled,
        "extra": account.extra,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


class SqlSubjectStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, subject: Subject) -> Subject:
        insert_row(self.db, subjects, {**_dump_subject(subject), "version": 1}, "subject")
        return subject.replace(version=1)

    def get(self, subject_id: str) -> Subject | None:
        row = select_one(self.db, _SUBJECT_BY_ID, id=subject_id)
        return load_subject(row) if row else None

    def get_by_personal_id_hash(self, personal_id_hash: str) -> Subject | None:
        row = select_one(self.db, _SUBJECT_BY_PERSONAL_ID, personal_id_hash=personal_id_hash)
        return load_subject(row) if row else None

    def find_by_name(self, text: str, limit: int) -> Sequence[Subject]:
        """Subjects whose ``name`` claim contains ``text`` (case-insensitively as the database
        compares: every letter on PostgreSQL, ASCII letters on SQLite), at most ``limit``, by id.
        A scan of the claims: an administrator's search, not a sign-in's path."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = (select(subjects).where(subjects.c.claims["name"].as_string().ilike(pattern, escape="\\"))
                     .order_by(subjects.c.id).limit(limit))
        with self.db.connect() as conn:
            return [load_subject(row) for row in conn.execute(statement).mappings()]

    def update(self, subject_id: str, updater: Callable[[Subject], Subject]) -> Subject:
        return cas_update(
            self.db, subjects, subjects.c.id == subject_id, load_subject, _dump_subject, updater, "subject"
        )


class SqlAccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, account: Account) -> Account:
        insert_row(self.db, accounts, {**_dump_account(account), "version": 1}, f"account {account.username!r}")
        return account.replace(version=1, username=account.username.lower())

    def get(self, account_id: str) -> Account | None:
        return self._one(_ACCOUNT_BY_ID, id=account_id)

    def get_by_username(self, username: str) -> Account | None:
        return self._one(_ACCOUNT_BY_USERNAME, username=username.lower())

    def get_by_subject(self, subject_id: str) -> Account | None:
        return self._one(_ACCOUNT_BY_SUBJECT, subject_id=subject_id)

    def list(self) -> Sequence[Account]:
        with self.db.connect() as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.username)).mappings().all()
        return [_load_account(r) for r in rows]

    def update(self, account_id: str, updater: Callable[[Account], Account]) -> Account:
        return cas_update(
            self.db, accounts, accounts.c.id == account_id, _load_account, _dump_account, updater, "account"
        )

    def _one(self, statement: Any, **key: str) -> Account | None:
        row = select_one(self.db, statement, **key)
        return _load_account(row) if row else None


_SUBJECT_BY_ID = keyed_select(subjects, "id")
_SUBJECT_BY_PERSONAL_ID = keyed_select(subjects, "personal_id_hash")
_ACCOUNT_BY_ID = keyed_select(accounts, "id")
# The sign-in's lookup: the account, and whether its person holds a passkey (the second factor
# asked after the password), in one statement.
_ACCOUNT_BY_USERNAME = keyed_select(accounts, "username").add_columns(
    exists().where(passkeys.c.subject_id == accounts.c.subject_id).label("holds_passkey"))
_ACCOUNT_BY_SUBJECT = keyed_select(accounts, "subject_id")

"""SQL implementation of :class:`SigningKeyStore`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from idp.storage.db import Database
from idp.storage.models import SigningKeyRecord
from idp.storage.schema import signing_keys
from idp.storage.sql.base import aware, cas_update, insert_row


def _load(row: Any) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=row["kid"],
        alg=row["alg"],
        backend=row["backend"],
        state=row["state"],
        public_jwk=dict(row["public_jwk"]),
        private_key_enc=row["private_key_enc"],
        hsm_label=row["hsm_label"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        activated_at=aware(row["activated_at"]),
        retired_at=aware(row["retired_at"]),
        version=row["version"],
    )


def _dump(record: SigningKeyRecord) -> dict[str, Any]:
    return {
        "kid": record.kid,
        "alg": record.alg,
        "backend": record.backend,
        "state": record.state,
        "public_jwk": record.public_jwk,
        "private_key_enc": record.private_key_enc,
        "hsm_label": record.hsm_label,
        "created_at": record.created_at,
        "activated_at": record.activated_at,
        "retired_at": record.retired_at,
    }


class SqlSigningKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: SigningKeyRecord) -> SigningKeyRecord:
        insert_row(self.db, signing_keys, {**_dump(record), "version": 1}, f"key {record.kid!r}")
        return record.replace(version=1)

    def get(self, kid: str) -> SigningKeyRecord | None:
        with self.db.connect() as conn:
            row = conn.execute(select(signing_keys).where(signing_keys.c.kid == kid)).mappings().first()
        return _load(row) if row else None

    def list(self) -> Sequence[SigningKeyRecord]:
        query = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
        with self.db.connect() as conn:
            return [_load(r) for r in conn.execute(query).mappings()]

    def update(self, kid: str, updater: Callable[[SigningKeyRecord], SigningKeyRecord]) -> SigningKeyRecord:
        return cas_update(self.db, signing_keys, signing_keys.c.kid == kid, _load, _dump, updater, f"key {kid!r}")

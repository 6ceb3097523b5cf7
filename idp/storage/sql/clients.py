"""SQL implementation of :class:`idp.storage.protocols.ClientStore`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select

from idp.storage.db import Database
from idp.storage.models import Client
from idp.storage.schema import clients
from idp.storage.sql.base import aware, cas_update, insert_row, keyed_select, select_one


def _load(row: Any) -> Client:
    return Client(
        client_id=row["client_id"],
        name=row["name"],
        auth_method=row["auth_method"],
        redirect_uris=tuple(row["redirect_uris"]),
        post_logout_redirect_uris=tuple(row["post_logout_redirect_uris"]),
        grant_types=tuple(row["grant_types"]),
        scopes=tuple(row["scopes"]),
        secret_hash=row["secret_hash"],
        trusted=bool(row["trusted"]),
        extra=dict(row["extra"]),
        version=row["version"],
        created_at=aware(row["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(row["updated_at"]),  # type: ignore[arg-type]
    )


def _dump(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "auth_method": client.auth_method,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "secret_hash": client.secret_hash,
        "trusted": client.trusted,
        "extra": client.extra,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    }


class SqlClientStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, client: Client) -> Client:
        insert_row(self.db, clients, {**_dump(client), "version": 1}, f"client {client.client_id!r}")
        return client.replace(version=1)

    def get(self, client_id: str) -> Client | None:
        row = select_one(self.db, _CLIENT, client_id=client_id)
        return _load(row) if row else None

    def list(self) -> Sequence[Client]:
        with self.db.connect() as conn:
            rows = conn.execute(select(clients).order_by(clients.c.client_id)).mappings().all()
        return [_load(r) for r in rows]

    def update(self, client_id: str, updater: Callable[[Client], Client]) -> Client:
        return cas_update(
            self.db, clients, clients.c.client_id == client_id, _load, _dump, updater, f"client {client_id!r}"
        )

    def remove(self, client_id: str) -> bool:
        with self.db.connect() as conn:
            return conn.execute(delete(clients).where(clients.c.client_id == client_id)).rowcount == 1


_CLIENT = keyed_select(clients, "client_id")

"""``select_one`` on PostgreSQL runs the statement on the driver connection: it must hand back
exactly what SQLAlchemy's own execution does for every table it reads, take part in the caller's
transaction, and fail the way the SQLAlchemy path fails."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from sqlalchemy import Select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from idp.accounts.service import create_local_account
from idp.clients.service import register_client
from idp.storage.db import keep_connection_in_this_thread
from idp.storage.sql import SqlStorage
from idp.storage.sql.accounts import _ACCOUNT_BY_ID, _ACCOUNT_BY_USERNAME, _SUBJECT_BY_ID
from idp.storage.sql.base import select_one
from idp.storage.sql.clients import _CLIENT
from tests.conftest import POSTGRES_URL


def through_sqlalchemy(store: SqlStorage, statement: Select[Any], **values: Any) -> dict[str, Any] | None:
    with store.db.engine.connect() as conn:
        row = conn.execute(statement, values).mappings().first()
    return dict(row) if row is not None else None


def test_rows_are_what_sqlalchemy_returns(pg_storage: SqlStorage) -> None:
    register_client(pg_storage, "portal", redirect_uris=["https://portal.example.vn/cb"], name="Cổng dịch vụ công")
    account = create_local_account(pg_storage, "lan.tran", "Đà Nẵng mùa hoa phượng đỏ", name="Trần Thị Lan")
    extra = {"roles": ["auditor"], "nested": {"ư": [1, None]}}
    pg_storage.accounts.update(account.id, lambda a: a.replace(extra=extra))
    cases: list[tuple[Select[Any], dict[str, Any]]] = [
        (_CLIENT, {"client_id": "portal"}), (_ACCOUNT_BY_ID, {"id": account.id}),
        (_ACCOUNT_BY_USERNAME, {"username": "lan.tran"}), (_SUBJECT_BY_ID, {"id": account.subject_id}),
    ]
    for statement, values in cases:
        expected = through_sqlalchemy(pg_storage, statement, **values)
        assert expected is not None
        got = select_one(pg_storage.db, statement, **values)
        assert got == expected
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
    assert select_one(pg_storage.db, _CLIENT, client_id="nobody") is None
    assert pg_storage.accounts.get(account.id).extra["nested"] == {"ư": [1, None]}  # type: ignore[union-attr]


def test_it_reads_inside_the_callers_transaction(pg_storage: SqlStorage) -> None:
    register_client(pg_storage, "portal", redirect_uris=["https://portal.example.vn/cb"], name="Cổng")
    with pg_storage.db.transaction() as conn:
        conn.execute(text("UPDATE clients SET name = 'đổi tên' WHERE client_id = 'portal'"))
        assert select_one(pg_storage.db, _CLIENT, client_id="portal")["name"] == "đổi tên"  # its own uncommitted write
        assert through_sqlalchemy(pg_storage, _CLIENT, client_id="portal")["name"] == "Cổng"  # type: ignore[index]


def test_a_dropped_connection_fails_as_sqlalchemy_does_and_is_replaced(pg_storage: SqlStorage) -> None:
    register_client(pg_storage, "portal", redirect_uris=["https://portal.example.vn/cb"], name="Cổng")
    outcome: list[object] = []

    def work() -> None:
        keep_connection_in_this_thread()
        with pg_storage.db.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        try:
            select_one(pg_storage.db, _CLIENT, client_id="portal")
        except DBAPIError as exc:
            outcome.append(exc)
        outcome.append(select_one(pg_storage.db, _CLIENT, client_id="portal"))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert isinstance(outcome[0], OperationalError)  # what the adapters turn into "source unavailable"
    assert outcome[1] is not None and outcome[1]["client_id"] == "portal"  # type: ignore[index]

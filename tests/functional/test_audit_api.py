"""``GET /audit/events``: the auditor's search, its authentication, filters and cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from idp.audit.events import AuditContext, AuditEvent
from idp.audit.search import AuditSearch
from idp.audit.sql import SqlAuditLog
from idp.endpoints import audit_api
from idp.settings import Settings
from idp.storage.sql import SqlStorage

TOKEN = "auditor-token-" + "x" * 40


@pytest.fixture
def client(sqlite_storage: SqlStorage, tmp_path) -> TestClient:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.state.settings = Settings(data_dir=tmp_path / "var", audit_api_token=TOKEN)
    log = SqlAuditLog(sqlite_storage.db)
    app.state.provider = SimpleNamespace(audit_search=AuditSearch(sqlite_storage.db, log))
    app.include_router(audit_api.router)
    for n in range(7):
        log.record(AuditEvent(type="signin", outcome="failure" if n % 2 else "success", username=f"u{n % 3}",
                              client_id="portal" if n < 5 else "mot-cua", reason="wrong_password" if n % 2 else None,
                              context=AuditContext(ip=f"203.0.113.{n}")))
    log.record(AuditEvent(type="token.issued", client_id="portal", subject="s1"))
    return TestClient(app)


def get(client: TestClient, **params: object) -> dict:
    response = client.get("/audit/events", params=params, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer " + "y" * 5000])
def test_only_the_auditor_token_gets_in(client: TestClient, header: str | None) -> None:
    response = client.get("/audit/events", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "kiểm toán" in response.json()["detail"]


def test_filters(client: TestClient) -> None:
    assert [e["seq"] for e in get(client, outcome="failure")["events"]] == [6, 4, 2]
    assert {e["username"] for e in get(client, username="u1")["events"]} == {"u1"}
    assert [e["seq"] for e in get(client, client_id="mot-cua")["events"]] == [7, 6]
    assert [e["seq"] for e in get(client, ip="203.0.113.3")["events"]] == [4]
    assert [e["type"] for e in get(client, type="token.*")["events"]] == ["token.issued"]
    assert get(client, subject="s1")["events"][0]["client_id"] == "portal"
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert get(client, since=later)["events"] == []
    assert len(get(client, until=later, type="signin")["events"]) == 7


def test_cursor_pagination_walks_every_event_once(client: TestClient) -> None:
    seen: list[int] = []
    page = get(client, limit=3, type="signin")
    while True:
        seen += [e["seq"] for e in page["events"]]
        if not page["next_cursor"]:
            break
        page = get(client, limit=3, type="signin", cursor=page["next_cursor"])
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_a_forged_cursor_is_a_clean_400(client: TestClient) -> None:
    response = client.get("/audit/events", params={"cursor": "not-ours"},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_each_search_is_itself_audited(client: TestClient) -> None:
    get(client, username="u2")
    newest = get(client, type="admin.action")["events"][0]
    assert newest["details"]["action"] == "audit.search"
    assert newest["details"]["filters"] == {"username": "u2"} and newest["username"] == "api-token"

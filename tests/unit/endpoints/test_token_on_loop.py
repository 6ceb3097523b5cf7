"""A client's own token (client_credentials, secret, cached client) is answered on the event loop:
its audit event is still committed before the token leaves, and a failed write leaves no token."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from idp.app import create_app
from idp.clients.secrets import hash_secret
from idp.endpoints.common import basic_client_id
from idp.settings import Settings
from idp.storage.models import Client
from idp.storage.schema import audit_events

SECRET = "m2m-secret-0123456789-0123456789-0123"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(Settings(data_dir=tmp_path / "var"))
    provider = app.state.provider
    provider.storage.clients.add(Client(client_id="m2m", name="Máy chủ", auth_method="client_secret_basic",
                                        redirect_uris=(), grant_types=("client_credentials",), scopes=("openid",),
                                        secret_hash=hash_secret(SECRET)))
    with TestClient(app) as http:  # the lifespan starts the audit writer
        yield http, provider


def token(http: TestClient, secret: str = SECRET) -> Any:
    return http.post("/token", data={"grant_type": "client_credentials"},
                     headers={"Authorization": basic("m2m", secret)})


def issued_events(provider: Any) -> list[Any]:
    query = select(audit_events.c.client_id).where(audit_events.c.type == "token.issued")
    with provider.storage.db.connect() as conn:
        return list(conn.execute(query).scalars())


def no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the token endpoint may not hand work to a thread."""
    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a thread hop on the event-loop path")

    monkeypatch.setattr("idp.endpoints.token.run_blocking", refuse)


def test_the_token_answered_on_the_loop_has_its_event_committed(client: tuple[TestClient, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    http, provider = client
    first = token(http)  # reads the client into the cache (answered in a thread)
    assert first.status_code == 200
    no_thread(monkeypatch)
    second = token(http)
    assert second.status_code == 200, second.text
    assert issued_events(provider) == ["m2m", "m2m"]


def test_a_failed_audit_write_leaves_no_token(client: tuple[TestClient, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    http, provider = client
    assert token(http).status_code == 200
    no_thread(monkeypatch)

    def refuse(events: list[Any]) -> None:
        raise RuntimeError("the audit database is gone")

    provider.audit.batcher._write_batch = refuse
    answer = token(http)
    assert answer.status_code == 500 and answer.json() == {"error": "server_error"}


def test_a_wrong_secret_is_refused_on_the_loop_too(client: tuple[TestClient, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    http, _ = client
    assert token(http).status_code == 200
    no_thread(monkeypatch)
    refused = token(http, secret="wrong")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


@pytest.mark.parametrize(("header", "expected"), [
    (basic("m2m", "s"), "m2m"),
    ("basic " + base64.b64encode(b"a%3Ab:s").decode(), "a:b"),  # form-encoded id (RFC 6749 §2.3.1)
    ("Basic !!!", None), ("Basic " + base64.b64encode(b"no-colon").decode(), None), ("Bearer x", None), (None, None),
    ("Basic " + base64.b64encode(b"\xff\xfe:s").decode(), None), ("Basic bcOp", None), ("Basic é", None),
])
def test_basic_client_id(header: str | None, expected: str | None) -> None:
    assert basic_client_id(header) == expected


def test_a_malformed_basic_header_is_an_oauth_error_not_a_crash(client: tuple[TestClient, Any]) -> None:
    http, _ = client
    assert token(http).status_code == 200  # the client is cached: the loop path is the one tried
    for header in (b"Basic \xe9", b"Basic !!!", b"Basic " + base64.b64encode(b"\xff:s")):
        answer = http.post("/token", data={"grant_type": "client_credentials"}, headers={"Authorization": header})
        assert answer.status_code in (400, 401) and answer.json()["error"] in ("invalid_client", "invalid_request")


def introspect(http: TestClient, value: str, secret: str = SECRET) -> Any:
    return http.post("/introspect", data={"token": value}, headers={"Authorization": basic("m2m", secret)})


def test_introspection_of_an_access_token_is_answered_on_the_loop(client: tuple[TestClient, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Its one store read is awaited on the loop; the answers are those of the thread path."""
    http, _ = client
    access_token = token(http).json()["access_token"]  # also caches the client
    in_thread = introspect(http, access_token).json()
    no_thread(monkeypatch)
    on_loop = introspect(http, access_token)
    assert on_loop.status_code == 200 and on_loop.json() == in_thread
    assert in_thread["active"] is True and in_thread["client_id"] == "m2m"
    assert introspect(http, access_token[:-4] + "AAAA").json() == {"active": False}  # signature broken
    refused = introspect(http, access_token, secret="wrong")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    monkeypatch.undo()  # revocation writes: it takes its thread
    revoked = http.post("/revoke", data={"token": access_token}, headers={"Authorization": basic("m2m", SECRET)})
    assert revoked.status_code == 200, revoked.text
    no_thread(monkeypatch)
    assert introspect(http, access_token).json() == {"active": False}  # the deny list, read on the loop

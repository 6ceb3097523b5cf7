"""A refresh through authlib's token endpoint, in process, on SQLite and PostgreSQL: the rotation
stores its successor with the claim (one statement on PostgreSQL) and every refusal behaves as
before: reuse revokes the grant, another DPoP key does not consume, a policy refusal leaves no
usable token, a response without a refresh token leaves none stored."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from idp.app import create_app
from idp.oidc.tokens import hash_token
from idp.settings import Settings
from idp.specs.authlib_request import PlainOAuth2Request
from idp.storage.models import Client, Grant, RefreshToken, Subject, utcnow
from idp.storage.schema import grants, refresh_tokens
from idp.web import request_scope
from policies.document import ClientPolicy
from policies.loa import Level
from tests.wire import wire_trace

SCOPES = ("openid", "profile", "offline_access")


@pytest.fixture(params=["sqlite", "postgresql"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A provider with a public client ``spa``, a person and their grant ``g1`` (refresh token
    ``first``); the client's policy is ``provider.test_policy`` (replace it to tighten it)."""
    settings = Settings(data_dir=tmp_path / "var")
    if request.param == "postgresql":
        settings = Settings(data_dir=tmp_path / "var", database_url=request.getfixturevalue("postgres_url"),
                            auto_migrate=True)
    yield from provider_with(settings)


def provider_with(settings: Settings) -> Iterator[Any]:
    """The provider of the fixture ``provider`` on ``settings``."""
    app = create_app(settings)
    provider = app.state.provider
    provider.test_policy = ClientPolicy(version=1, adapters=("local",), scopes=SCOPES)
    provider.client_policies.policies = SimpleNamespace(for_client=lambda client_id: provider.test_policy)
    provider.storage.clients.add(Client(client_id="spa", name="Ứng dụng", auth_method="none",
                                        redirect_uris=("http://127.0.0.1:9/cb",),
                                        grant_types=("authorization_code", "refresh_token")))
    provider.storage.subjects.add(Subject(id="s1", kind="citizen", claims={"name": "Nguyễn Văn An"}))
    provider.storage.grants.create(Grant(
        id="g1", client_id="spa", subject_id="s1", scopes=SCOPES, expires_at=utcnow() + timedelta(days=1),
        claims={"request": {"id_token": {"name": None}}, "released": ["name"]},
        acr=Level.LOCAL_BASIC.uri(provider.issuer), amr=("pwd",), auth_time=int(time.time()),
    ))
    add_token(provider, "first")
    with TestClient(app):  # its lifespan stops the key ring, the audit writer and the storage
        yield provider


def add_token(provider: Any, value: str, dpop_jkt: str | None = None) -> None:
    grant = provider.storage.grants.get("g1")
    provider.storage.grants.add_refresh_token(RefreshToken(hash_token(value), "g1", grant.expires_at, dpop_jkt))


def refresh(provider: Any, value: str, *, client_id: str = "spa", dpop_jkt: str | None = None,
            scope: str | None = None) -> tuple[int, dict[str, Any]]:
    form = [("grant_type", "refresh_token"), ("refresh_token", value), ("client_id", client_id)]
    request = PlainOAuth2Request("POST", provider.issuer + "/token", {}, [],
                                 form + ([("scope", scope)] if scope else []))
    if dpop_jkt:
        request.extras["dpop_jkt"] = dpop_jkt
    with request_scope.one_request():
        status, body, _ = provider.server.create_token_response(request)
    return status, body


def unused_tokens(provider: Any) -> list[str]:
    """The hashes of the grant's refresh tokens that could still be presented."""
    query = select(refresh_tokens.c.token_hash).where(refresh_tokens.c.grant_id == "g1",
                                                      refresh_tokens.c.used_at.is_(None))
    with provider.storage.db.connect() as conn:
        return sorted(conn.execute(query).scalars())


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_rotation_hands_out_the_stored_successor(provider: Any) -> None:
    status, body = refresh(provider, "first")
    assert status == 200, body
    second = body["refresh_token"]
    assert unused_tokens(provider) == [hash_token(second)]
    stored = provider.storage.grants.find_refresh_token(hash_token(second))
    assert stored.expires_at == provider.storage.grants.get("g1").expires_at and stored.dpop_jkt is None
    status, body = refresh(provider, second)
    assert status == 200 and body["refresh_token"] not in (second, "first")


def test_reuse_revokes_the_grant_and_the_successor_with_it(provider: Any) -> None:
    second = refresh(provider, "first")[1]["refresh_token"]
    status, body = refresh(provider, "first")  # a stolen copy
    assert status == 400 and body["error"] == "invalid_grant"
    assert provider.storage.grants.get("g1").revoked_reason == "refresh_token_reused"
    assert refresh(provider, second)[0] == 400


@pytest.mark.parametrize("provider", ["postgresql"], indirect=True)  # SQLite takes four statements
def test_a_rotation_is_one_statement_on_postgresql(provider: Any) -> None:
    assert refresh(provider, "first")[0] == 200  # warms the client cache and the signing keys
    add_token(provider, "again")
    with wire_trace(provider.storage) as sent:  # on the wire: the rotation runs on the driver connection
        status, body = refresh(provider, "again")
    assert status == 200, body
    assert sent.statements == 1


def test_another_dpop_key_does_not_consume_and_the_successor_is_bound(provider: Any) -> None:
    add_token(provider, "bound", dpop_jkt="key-a")
    status, body = refresh(provider, "bound", dpop_jkt="key-b")
    assert status == 400 and body["error"] == "invalid_grant"
    assert hash_token("bound") in unused_tokens(provider) and provider.storage.grants.get("g1").active
    status, body = refresh(provider, "bound", dpop_jkt="key-a")
    assert status == 200 and body["token_type"] == "DPoP"
    assert provider.storage.grants.find_refresh_token(hash_token(body["refresh_token"])).dpop_jkt == "key-a"


def test_a_policy_refusal_leaves_no_usable_token(provider: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    provider.test_policy = ClientPolicy(version=1, adapters=("local",), scopes=SCOPES, minimum_acr=Level.VNEID_L2)
    successor = secrets.token_urlsafe(32)
    monkeypatch.setattr("idp.oidc.rotation.new_refresh_token", lambda: successor)
    status, body = refresh(provider, "first")
    assert status == 400 and body["error"] == "invalid_grant"
    assert provider.storage.grants.get("g1").revoked_reason == "policy_refused_refresh"
    provider.test_policy = ClientPolicy(version=1, adapters=("local",), scopes=SCOPES)
    monkeypatch.undo()
    assert refresh(provider, successor)[0] == 400  # stored with the claim, dead with its grant


def test_a_response_without_a_refresh_token_leaves_none_stored(provider: Any) -> None:
    status, body = refresh(provider, "first", scope="openid profile")  # no offline_access asked for
    assert status == 200 and "refresh_token" not in body
    assert unused_tokens(provider) == []


def test_a_policy_without_offline_access_leaves_none_stored(provider: Any) -> None:
    provider.test_policy = ClientPolicy(version=1, adapters=("local",), scopes=("openid", "profile"))
    status, body = refresh(provider, "first")
    assert status == 200 and "refresh_token" not in body and body["scope"] == "openid profile"
    assert unused_tokens(provider) == []


def test_another_clients_token_is_refused_and_nothing_is_stored(provider: Any) -> None:
    provider.storage.clients.add(Client(client_id="other", name="Khác", auth_method="none",
                                        redirect_uris=("http://127.0.0.1:9/cb",), grant_types=("refresh_token",)))
    status, body = refresh(provider, "first", client_id="other")
    assert status == 400 and body["error"] == "invalid_grant"
    assert unused_tokens(provider) == []  # consumed, as before; no successor


def test_an_expired_grant_is_refused_and_nothing_is_stored(provider: Any) -> None:
    with provider.storage.db.connect() as conn:
        conn.execute(update(grants).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert refresh(provider, "first")[0] == 400
    assert unused_tokens(provider) == []


def test_the_refreshed_tokens_carry_the_persons_current_claims(provider: Any) -> None:
    provider.storage.subjects.update("s1", lambda s: s.replace(claims={"name": "Nguyễn Văn Bình"}))
    reads: list[str] = []
    get = provider.storage.subjects.get
    provider.storage.subjects.get = lambda subject_id: reads.append(subject_id) or get(subject_id)
    status, body = refresh(provider, "first")
    assert status == 200, body
    assert claims_of(body["id_token"])["name"] == "Nguyễn Văn Bình"
    assert provider.tokens.check_access_token(body["access_token"]).userinfo["name"] == "Nguyễn Văn Bình"
    # PostgreSQL read the person with the claim; SQLite reads them once for the whole response.
    assert reads == ([] if provider.storage.db.dialect == "postgresql" else ["s1"])

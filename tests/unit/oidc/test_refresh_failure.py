"""A refresh that fails after its rotation committed (Redis, where the access token is recorded,
stopped: the client is answered 503) takes no effect: the client's retry with the same refresh
token succeeds and the grant stays, while a real replay still revokes it. Real PostgreSQL and a
Redis of the test's own, which it stops and starts again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idp.oidc.tokens import hash_token
from idp.settings import Settings
from idp.web.unavailable import is_backend_unavailable
from tests.resilience.cluster import Postgres, Redis
from tests.unit.oidc.test_refresh_rotation import provider_with, refresh, unused_tokens


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Redis]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Redis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def provider(tmp_path: Path, postgres_url: str, own_redis: Redis) -> Iterator[Any]:
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_url, auto_migrate=True,
                        redis_url=own_redis.url)
    yield from provider_with(settings)


def test_a_refresh_failing_after_its_rotation_can_be_retried(provider: Any, own_redis: Redis) -> None:
    status, body = refresh(provider, "first")  # also warms the caches and the signing keys
    assert status == 200, body
    held = body["refresh_token"]  # the token the client holds now
    own_redis.stop()
    with pytest.raises(Exception) as failed:  # the endpoint answers this 503 temporarily_unavailable
        refresh(provider, held)
    assert is_backend_unavailable(failed.value)
    assert unused_tokens(provider) == [hash_token(held)]  # undone: no successor, the held token usable
    own_redis.start()
    status, body = refresh(provider, held)  # the client's retry
    assert status == 200, body
    assert provider.storage.grants.get("g1").active
    assert unused_tokens(provider) == [hash_token(body["refresh_token"])]
    status, body = refresh(provider, held)  # a replay of a token whose successor was handed out
    assert status == 400 and body["error"] == "invalid_grant"
    assert provider.storage.grants.get("g1").revoked_reason == "refresh_token_reused"



@pytest.fixture
def provider_on_own_postgres(tmp_path: Path, own_postgres: Postgres, own_redis: Redis) -> Iterator[Any]:
    settings = Settings(data_dir=tmp_path / "var", database_url=own_postgres.url, auto_migrate=True,
                        redis_url=own_redis.url, database_statement_timeout_seconds=1)
    yield from provider_with(settings)


def test_a_refresh_cut_off_by_a_frozen_database_can_be_retried(provider_on_own_postgres: Any,
                                                               own_postgres: Postgres) -> None:
    provider = provider_on_own_postgres
    status, body = refresh(provider, "first")
    assert status == 200, body
    held = body["refresh_token"]
    own_postgres.pause()  # SIGSTOP: the claim waits in the server's socket, and the provider gives up
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as failed:  # the endpoint answers this 503 temporarily_unavailable
            refresh(provider, held)
        assert is_backend_unavailable(failed.value)
        # bounded by the claim's statement bound (1 s, and the watchdog's second), not held for a settlement
        assert time.monotonic() - started < 3.5
    finally:
        own_postgres.resume()  # the waiting claim runs now and commits
    status, body = refresh(provider, held)  # the client's retry, at once
    assert status == 200, body
    assert provider.storage.grants.get("g1").active
    assert unused_tokens(provider) == [hash_token(body["refresh_token"])]
    status, body = refresh(provider, held)  # a replay of a token whose successor was handed out
    assert status == 400 and body["error"] == "invalid_grant"
    assert provider.storage.grants.get("g1").revoked_reason == "refresh_token_reused"

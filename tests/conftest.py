"""Shared fixtures: real backends (SQLite, PostgreSQL, in-process, Redis), each test isolated.

PostgreSQL and Redis are selected by ``IDP_TEST_POSTGRES_URL`` and ``IDP_TEST_REDIS_URL``
(defaults: 127.0.0.1:5432 database ``test``, 127.0.0.1:6379). When one cannot be reached the
tests that need it are skipped on a developer's machine and FAIL when ``CI=true``: a backend CI
names is never silently left out.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.settings import Settings
from idp.storage.db import keep_connection_in_this_thread
from idp.storage.ephemeral.memory import MemoryStore
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage

POSTGRES_URL = os.environ.get("IDP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The test thread keeps its PostgreSQL connections as the server's request threads do, so every
# store test on PostgreSQL runs the path production runs (idp.storage.db); the command-line tools
# the tests start use the pool path.
keep_connection_in_this_thread()


def backend_unavailable(name: str, reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    message = f"{name} unreachable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a named backend must be there)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL schema of this test run, dropped at the end."""
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    try:
        conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is "unreachable"
        backend_unavailable("PostgreSQL", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    with conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _fresh_postgres(request: pytest.FixtureRequest) -> tuple[str, str]:
    """A new schema per test (cheap in PostgreSQL) so tests never see each other's rows."""
    import psycopg

    request.getfixturevalue("postgres_schema")
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    request.addfinalizer(drop)
    return POSTGRES_URL, schema


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    """The SQL storage, migrated, on each database."""
    if request.param == "sqlite":
        store = SqlStorage.open(f"sqlite:///{tmp_path / 'idp.sqlite3'}")
    else:
        url, schema = _fresh_postgres(request)
        store = SqlStorage.open(url, schema=schema)
    upgrade(store.db.engine)
    yield store
    store.close()


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[SqlStorage]:
    store = SqlStorage.open(f"sqlite:///{tmp_path / 'idp.sqlite3'}")
    upgrade(store.db.engine)
    yield store
    store.close()


def postgres_redis_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """``IDP_*`` variables of a server on its own PostgreSQL schema and Redis key prefix (both
    removed when ``request``'s scope ends). Fails under CI, skips elsewhere, when unreachable."""
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        backend_unavailable("PostgreSQL", str(exc))
    prefix = f"idptest:{schema}:"

    def drop() -> None:
        import redis

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()

    request.addfinalizer(drop)
    return {"IDP_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", "IDP_REDIS_URL": REDIS_URL,
            "IDP_REDIS_PREFIX": prefix}


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A database URL whose search_path is a fresh schema (for processes started by tests)."""
    url, schema = _fresh_postgres(request)
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_storage(postgres_url: str) -> Iterator[SqlStorage]:
    """The SQL storage on PostgreSQL only, migrated, in a fresh schema."""
    store = SqlStorage.open(postgres_url)
    upgrade(store.db.engine)
    yield store
    store.close()


@pytest.fixture
def redis_store() -> Iterator[object]:
    """A Redis store with a key prefix of its own; its keys are deleted afterwards."""
    import redis

    from idp.storage.ephemeral.redis import RedisStore

    prefix = f"idptest:{secrets.token_hex(6)}:"
    store = RedisStore.from_url(REDIS_URL, prefix=prefix)
    try:
        store.ping()
    except redis.RedisError as exc:
        backend_unavailable("Redis", str(exc))
    yield store
    keys = list(store.client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        store.client.delete(*keys)
    store.client.close()


@pytest.fixture(params=["memory", "redis"])
def ephemeral(request: pytest.FixtureRequest) -> object:
    """Each ephemeral store implementation."""
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    """Settings of the embedded default, under a temporary data folder."""
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real OpenLDAP slapd with the test officials (tests/data/ldap), on free loopback ports."""
    from tests.data.ldap.slapd import SlapdServer, find_slapd

    binaries = find_slapd()
    if binaries is None:
        backend_unavailable("slapd", "Debian packages slapd and ldap-utils are not installed")
    assert binaries is not None
    server = SlapdServer.create(tmp_path_factory.mktemp("slapd"), binaries)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[object]:
    """A PostgreSQL of the module's own (initdb in a temporary folder), which its tests may freeze
    (SIGSTOP), stop and start without touching the shared one."""
    from tests.resilience.cluster import Postgres

    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()

"""The statement bounds of the server and of ``idp`` commands are separate settings. With a 0.5 s
bound for requests (``IDP_DATABASE_STATEMENT_TIMEOUT_SECONDS``), a read of the server (opened as
``create_app`` opens it) that waits on a PostgreSQL lock is given up within that bound (a 503),
while ``idp audit export`` waiting on the same lock for 2 s completes: commands are unbounded by
default, or, given a bound of their own (``IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS``), fail
with one readable line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from idp.runtime import Runtime
from idp.settings import load_settings
from idp.web.unavailable import is_backend_unavailable
from tests.functional.test_audit_cli import Result, idp

__all__ = ["idp"]  # the in-process ``idp`` fixture, on this module's ``env``

REDIRECT_URI = "http://127.0.0.1:9/portal/cb"
LOCKED_SECONDS = 2.0


@pytest.fixture
def env(postgres_url: str, tmp_path: Path) -> dict[str, str]:
    return {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_DATABASE_URL": postgres_url, "IDP_AUTO_MIGRATE": "true",
            "IDP_DATABASE_STATEMENT_TIMEOUT_SECONDS": "0.5"}


@pytest.fixture
def portal(env: dict[str, str], idp: Callable[..., Result]) -> None:
    """Relying party ``portal`` registered (its audit event is in the chain)."""
    added = idp(["clients", "add", "portal", "--public", "--redirect-uri", REDIRECT_URI])
    assert added.returncode == 0, added.stderr


@contextmanager
def table_locked(url: str, table: str, seconds: float) -> Iterator[None]:
    """A maintenance transaction holds ``table`` exclusively for ``seconds`` from entering the block."""
    with psycopg.connect(url) as conn:
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(seconds, conn.commit)
        release.start()
        try:
            yield
        finally:
            release.join()


def _timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_command_waits_past_the_servers_statement_bound(env: dict[str, str], portal: None,
                                                         idp: Callable[..., Result]) -> None:
    with table_locked(env["IDP_DATABASE_URL"], "audit_events", LOCKED_SECONDS):
        exported, took = _timed(lambda: idp(["audit", "export"]))
    assert isinstance(exported, Result) and exported.returncode == 0, exported
    assert "client.created" in [json.loads(line)["type"] for line in exported.stdout.splitlines()]
    assert took >= LOCKED_SECONDS - 0.2, took  # it waited for the lock, past the server's 0.5 s


def test_a_command_bound_of_its_own_gives_up_with_one_readable_line(env: dict[str, str], portal: None,
                                                                   idp: Callable[..., Result],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_DATABASE_COMMAND_STATEMENT_TIMEOUT_SECONDS", "0.5")
    with table_locked(env["IDP_DATABASE_URL"], "audit_events", LOCKED_SECONDS):
        exported, took = _timed(lambda: idp(["audit", "export"]))
    assert isinstance(exported, Result) and exported.returncode == 1 and exported.stdout == "", exported
    assert exported.stderr.startswith("idp: ") and exported.stderr.count("\n") == 1, exported.stderr
    assert "statement timeout" in exported.stderr and "Traceback" not in exported.stderr
    assert took < LOCKED_SECONDS - 0.5, took


def test_the_server_keeps_its_statement_bound(env: dict[str, str], portal: None, idp: Callable[..., Result]) -> None:
    runtime = Runtime.open(load_settings())  # as the server opens it (idp.app.create_app)
    try:
        with table_locked(env["IDP_DATABASE_URL"], "audit_events", LOCKED_SECONDS):
            started = time.monotonic()
            with pytest.raises(Exception) as failed, runtime.storage.db.connect() as conn:
                conn.execute(text("SELECT count(*) FROM audit_events"))
            took = time.monotonic() - started
    finally:
        runtime.close()
    assert is_backend_unavailable(failed.value) and "statement timeout" in str(failed.value)  # answered 503
    assert took < 1.4, took  # the server's 0.5 s, not the lock's 2 s

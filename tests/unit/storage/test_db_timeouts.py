"""Every wait on PostgreSQL is bounded: a statement that runs too long is cancelled by the server,
and a statement sent to a frozen server (SIGSTOP: its socket still accepts bytes, nothing answers)
is given up by the client one second after its bound, as a lost connection (answered 503); the
same engine serves again once the server resumes; network delay (a delaying TCP proxy on loopback)
slows statements but never holds one past its bound. A PostgreSQL of the test's own, frozen by it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from idp.storage.db import Database, Timeouts, build_engine
from idp.web.unavailable import is_backend_unavailable
from tests.net_delay import DelayingProxy
from tests.resilience.cluster import Postgres


def test_a_long_statement_is_cancelled_by_the_server(own_postgres: Postgres) -> None:
    db = Database(build_engine(own_postgres.url, timeouts=Timeouts(statement=0.5)))
    started = time.monotonic()
    with pytest.raises(OperationalError) as failed, db.connect() as conn:
        conn.execute(text("SELECT pg_sleep(5)"))
    assert time.monotonic() - started < 1.4  # the server cancelled it, before the watchdog
    assert is_backend_unavailable(failed.value) and "statement timeout" in str(failed.value)
    with db.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "5s"
    db.dispose()


def test_a_frozen_server_costs_a_statement_its_bound_and_recovery_is_automatic(own_postgres: Postgres) -> None:
    db = Database(build_engine(own_postgres.url, timeouts=Timeouts(connect=2, statement=1)))
    with db.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1  # a pooled connection, open before the freeze
    own_postgres.pause()
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as failed, db.connect() as conn:
            conn.execute(text("SELECT 1"))
        took = time.monotonic() - started
        assert is_backend_unavailable(failed.value)
        assert 1.5 < took < 3.5, took  # the bound (1 s) plus the grace (1 s), not until SIGCONT
        started = time.monotonic()
        with pytest.raises(Exception) as failed, db.connect() as conn:  # a new connection: connect_timeout
            conn.execute(text("SELECT 1"))
        assert is_backend_unavailable(failed.value) and time.monotonic() - started < 4.5
    finally:
        own_postgres.resume()
    with db.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    db.dispose()


def test_network_delay_slows_statements_but_never_past_their_bound(own_postgres: Postgres) -> None:
    proxy = DelayingProxy(own_postgres.port)
    url = own_postgres.url.replace(f":{own_postgres.port}/", f":{proxy.port}/")
    db = Database(build_engine(url, timeouts=Timeouts(connect=5, statement=1)))
    try:
        proxy.delay = 0.1  # 200 ms a round trip: slower, answered
        started = time.monotonic()
        with db.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert time.monotonic() - started >= 0.2
        proxy.delay = 5  # past the bound: given up at the bound (1 s + 1 s grace), not after 10 s
        started = time.monotonic()
        with pytest.raises(Exception) as failed, db.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert is_backend_unavailable(failed.value) and time.monotonic() - started < 3.5
        proxy.delay = 0  # the network is back: the next request is answered on a new connection
        with db.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()
        proxy.close()

"""Fault 3: PostgreSQL restarted, then failed over to read-only for a while, under load. While it
cannot serve, ``/readyz`` says so (the proxy stops sending traffic) and a request that reaches a
replica gets a clear 503 (``temporarily_unavailable`` or its page), never a 500; the same processes
recover without a restart; no grant or audit event is lost or duplicated, and ``idp audit verify``
passes."""

from __future__ import annotations

import time

import httpx

from tests.resilience.cluster import Cluster, Replica
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost


def _ready(replica: Replica) -> httpx.Response:
    return httpx.get(replica.base + "/readyz", timeout=10)


def _until(predicate: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.3)


def test_postgres_restarted_then_read_only(cluster: Cluster) -> None:
    pids = {replica.name: replica.process.pid for replica in cluster.replicas if replica.process}
    first = cluster.replicas[0]
    with Load(cluster) as load:
        load.run_for(3)
        restarted_at = time.monotonic()
        cluster.postgres.stop("fast")
        down = _ready(first)
        assert down.status_code == 503 and down.json()["down"] == ["database"]
        token = httpx.post(first.base + "/token", data={"grant_type": "client_credentials"},
                           auth=("m2m", cluster.M2M_SECRET), timeout=15)
        assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable", first.log()[-8000:]
        assert token.headers["retry-after"]
        time.sleep(2)
        cluster.postgres.start()
        cluster.wait_all_up()
        back_at = time.monotonic()
        load.run_for(4)

        read_only_at = time.monotonic()
        cluster.postgres.read_only(True)
        _until(lambda: _ready(first).json()["down"] == ["database (read-only)"])
        assert _ready(first).status_code == 503
        # A token's audit event cannot be written: no token leaves, the answer says to try again.
        token = httpx.post(first.base + "/token", data={"grant_type": "client_credentials"},
                           auth=("m2m", cluster.M2M_SECRET), timeout=15)
        assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable", first.log()[-8000:]
        page = httpx.get(first.base + "/authorize", params={"client_id": "portal", "response_type": "code",
                                                            "redirect_uri": cluster.REDIRECT_URI, "scope": "openid"},
                         timeout=15)
        assert page.status_code < 500 or (page.status_code == 503 and "<html" in page.text.lower())
        load.run_for(4)
        cluster.postgres.read_only(False)
        cluster.wait_all_up()
        writable_at = time.monotonic()
        load.run_for(4)

    assert {r.name: r.process.pid for r in cluster.replicas if r.process} == pids, "a replica had to restart"
    outside = load.failures() - load.failures(between=(restarted_at, back_at + 2)) - load.failures(
        between=(read_only_at, writable_at + 2))
    assert not outside, load.summary()
    assert 500 not in load.server_error_statuses(), load.summary()
    stored = check_nothing_lost(cluster, load)
    record("PostgreSQL restarted, then read-only", load, stored)

"""Fault 4: Redis, then PostgreSQL, frozen (SIGSTOP) for a few seconds under load, then resumed.
A frozen Redis costs a request at most its 2 s socket timeout (then 503, never a 500, and /readyz
says ``redis``); a frozen PostgreSQL costs a request at most its statement bound (the cluster's
2 s plus the client-side grace of 1 s, then 503 ``temporarily_unavailable``) however long it stays
frozen, and everything answers again within seconds of SIGCONT, with nothing lost."""

from __future__ import annotations

import threading
import time

import httpx

from tests.resilience.cluster import Cluster
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost

FROZEN_SECONDS = 3
POSTGRES_FROZEN_SECONDS = 5  # longer than a statement's bound (3 s in the cluster)


def _timed(call: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return response, time.monotonic() - started


def test_frozen_redis_then_frozen_postgres(cluster: Cluster) -> None:
    replica = cluster.replicas[0]
    authorize = {"client_id": "portal", "response_type": "code", "redirect_uri": cluster.REDIRECT_URI,
                 "scope": "openid", "code_challenge": "x" * 43, "code_challenge_method": "S256"}
    with Load(cluster) as load:
        load.run_for(3)
        redis_frozen_at = time.monotonic()
        cluster.redis.pause()
        ready, ready_took = _timed(lambda: httpx.get(replica.base + "/readyz", timeout=15))
        page, page_took = _timed(lambda: httpx.get(replica.base + "/authorize", params=authorize, timeout=15))
        time.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - redis_frozen_at)))
        cluster.redis.resume()
        cluster.wait_all_up(timeout=15)
        redis_back_at = time.monotonic()
        load.run_for(3)

        postgres_frozen_at = time.monotonic()
        cluster.postgres.pause()
        token, token_took = _post_while_frozen(cluster, replica.base)
        cluster.wait_all_up(timeout=15)
        postgres_back_at = time.monotonic()
        load.run_for(3)

    assert ready.status_code == 503 and "redis" in ready.json()["down"] and ready_took < 6
    assert page.status_code == 503 and "<html" in page.text.lower() and page_took < 6
    # Bounded while PostgreSQL was frozen: a 503 before it resumed, not a wait until it did.
    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable", token.text
    assert token_took < POSTGRES_FROZEN_SECONDS - 0.5, token_took
    outside = load.failures() - load.failures(between=(redis_frozen_at, redis_back_at + 2)) - load.failures(
        between=(postgres_frozen_at, postgres_back_at + 2))
    assert not outside, load.summary()
    assert 500 not in load.server_error_statuses(), load.summary()
    stored = check_nothing_lost(cluster, load, unanswered_may_be_lost=False)  # zero lost grants
    record(f"Redis frozen (SIGSTOP) {FROZEN_SECONDS} s, then PostgreSQL {POSTGRES_FROZEN_SECONDS} s", load, stored)


def _post_while_frozen(cluster: Cluster, base: str) -> tuple[httpx.Response, float]:
    """A token request sent while PostgreSQL is frozen (it resumes POSTGRES_FROZEN_SECONDS later),
    and how long its answer took."""
    timer = threading.Timer(POSTGRES_FROZEN_SECONDS, cluster.postgres.resume)
    timer.start()
    try:
        return _timed(lambda: httpx.post(base + "/token", data={"grant_type": "client_credentials"},
                                          auth=("m2m", cluster.M2M_SECRET), timeout=30))
    finally:
        timer.join()

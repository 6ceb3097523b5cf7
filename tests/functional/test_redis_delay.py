"""A running ``idp serve`` whose Redis is behind a slow network (tests/net_delay.py): with 200 ms
round trips a sign-in page is slower but served and ``/readyz`` is ready; with a delay past the
2 s socket timeout the page is a readable 503 within seconds (never a 500, never a hang) and
``/readyz`` names ``redis``; once the delay goes the same process serves again, without a restart."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import REDIS_URL
from tests.functional.helpers import call_idp, running_server
from tests.net_delay import DelayingProxy

REDIRECT_URI = "http://127.0.0.1:9/portal/cb"
AUTHORIZE = {"client_id": "portal", "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
             "code_challenge": "x" * 43, "code_challenge_method": "S256"}


@pytest.fixture
def slow_redis_server(tmp_path: Path) -> Iterator[tuple[str, DelayingProxy]]:
    """A server on the embedded database and the shared Redis (a key prefix of its own, deleted
    afterwards) through a delaying proxy; relying party ``portal`` registered."""
    proxy = DelayingProxy(int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    prefix = f"idptest:{secrets.token_hex(6)}:"
    env = {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_AUTO_MIGRATE": "true",
           "IDP_REDIS_URL": proxy.proxied_url(REDIS_URL), "IDP_REDIS_PREFIX": prefix}
    added = call_idp(["clients", "add", "portal", "--public", "--redirect-uri", REDIRECT_URI], env)
    assert added.returncode == 0, added.stderr
    try:
        with running_server(env) as base:
            yield base, proxy
    finally:
        proxy.close()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _timed_get(url: str, **params: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, params=params, timeout=30, follow_redirects=True)  # to the sign-in page
    return response, time.monotonic() - started


def test_a_slow_redis_slows_sign_in_and_one_past_its_timeout_is_a_bounded_503(
        slow_redis_server: tuple[str, DelayingProxy]) -> None:
    base, proxy = slow_redis_server
    page, fast = _timed_get(base + "/authorize", **AUTHORIZE)
    assert page.status_code == 200, page.text

    proxy.delay = 0.1  # 200 ms a round trip: slower, served
    page, slow = _timed_get(base + "/authorize", **AUTHORIZE)
    assert page.status_code == 200 and "<form" in page.text, page.text
    assert slow >= 0.2 and slow > fast, (fast, slow)
    assert httpx.get(base + "/readyz", timeout=30).status_code == 200

    proxy.delay = 5  # a round trip of 10 s, past the 2 s socket timeout
    page, took = _timed_get(base + "/authorize", **AUTHORIZE)
    assert page.status_code == 503 and "<html" in page.text.lower() and page.headers["retry-after"], page.text
    assert took < 6, took  # bounded by the socket timeout, not by the 10 s delay
    ready, took = _timed_get(base + "/readyz")
    assert ready.status_code == 503 and ready.json()["down"] == ["redis"] and took < 6, (ready.text, took)

    proxy.delay = 0  # the network is back: the same process answers, without a restart
    assert httpx.get(base + "/readyz", timeout=30).status_code == 200
    page, _ = _timed_get(base + "/authorize", **AUTHORIZE)
    assert page.status_code == 200 and "<form" in page.text, page.text

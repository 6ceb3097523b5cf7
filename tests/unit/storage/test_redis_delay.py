"""Network delay between the provider and Redis (a delaying TCP proxy on loopback, tests/net_delay.py):
a 200 ms round trip slows the short-lived store's commands and its event-loop reads but they are
answered; a delay past the 2 s socket timeout costs a command that timeout and fails as Redis
unavailable (answered 503), never longer; once the delay goes, the same store answers again."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from idp.storage.ephemeral.redis import RedisStore
from idp.web.unavailable import is_backend_unavailable
from tests.conftest import REDIS_URL
from tests.loops import run_on_new_loop
from tests.net_delay import DelayingProxy

SOCKET_TIMEOUT = 2  # RedisStore.from_url's socket_timeout


@pytest.fixture
def delayed_store(redis_store: RedisStore) -> Iterator[tuple[RedisStore, DelayingProxy]]:
    """A store on the shared Redis through a delaying proxy, with the key prefix of ``redis_store``
    (which deletes its keys afterwards)."""
    proxy = DelayingProxy(int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    store = RedisStore.from_url(proxy.proxied_url(REDIS_URL), prefix=redis_store.prefix)
    try:
        yield store, proxy
    finally:
        store.client.close()
        proxy.close()


def _read_on_loop(store: RedisStore, key: str) -> object:
    """``find_on_loop`` on an event loop of its own, whose Redis connection is closed before it ends."""
    async def read() -> object:
        try:
            return await store.find_on_loop("session", key)
        finally:
            await store.close_on_loop()
    return run_on_new_loop(read())


def _timed_failure(call: object) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as failed:
        call()  # type: ignore[operator]
    return failed.value, time.monotonic() - started


def test_a_slow_network_to_redis_slows_commands_but_answers_them(
        delayed_store: tuple[RedisStore, DelayingProxy]) -> None:
    store, proxy = delayed_store
    key = secrets.token_hex(8)
    store.upsert("session", key, {"v": 1}, 60)  # connected before the delay
    proxy.delay = 0.1  # 200 ms a round trip
    started = time.monotonic()
    store.upsert("session", key, {"v": 2}, 60)
    assert store.find("session", key) == {"v": 2}
    assert 0.4 <= time.monotonic() - started < SOCKET_TIMEOUT  # two round trips, each slower, both answered
    started = time.monotonic()
    assert _read_on_loop(store, key) == {"v": 2}  # the event loop's reader too
    assert 0.2 <= time.monotonic() - started < SOCKET_TIMEOUT
    store.ping()  # what /readyz asks: slower, ready


def test_a_delay_past_the_socket_timeout_costs_a_command_that_timeout_then_redis_answers_again(
        delayed_store: tuple[RedisStore, DelayingProxy]) -> None:
    store, proxy = delayed_store
    key = secrets.token_hex(8)
    store.upsert("session", key, {"v": 1}, 60)
    proxy.delay = 5  # a round trip of 10 s
    failure, took = _timed_failure(lambda: store.find("session", key))
    assert is_backend_unavailable(failure), repr(failure)  # answered 503, not 500
    assert SOCKET_TIMEOUT - 0.2 < took < SOCKET_TIMEOUT + 1.5, took  # the timeout, not the 10 s delay
    failure, took = _timed_failure(lambda: _read_on_loop(store, key))
    assert is_backend_unavailable(failure) and took < SOCKET_TIMEOUT + 1.5, (repr(failure), took)
    failure, took = _timed_failure(store.ping)  # what /readyz asks: not ready, "redis"
    assert is_backend_unavailable(failure) and took < SOCKET_TIMEOUT + 1.5, took
    proxy.delay = 0  # the network is back: the same store answers on new connections
    assert store.find("session", key) == {"v": 1}
    assert _read_on_loop(store, key) == {"v": 1}
    store.ping()

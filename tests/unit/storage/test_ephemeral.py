"""One conformance suite for the short-lived store, run in-process and on Redis."""

from __future__ import annotations

import asyncio
import threading
import time

from idp.storage.ephemeral.memory import MemoryStore
from tests.loops import run_on_new_loop


def test_upsert_find_destroy(ephemeral) -> None:
    ephemeral.upsert("code", "abc", {"client_id": "portal", "n": 1}, 60)
    assert ephemeral.find("code", "abc") == {"client_id": "portal", "n": 1}
    ephemeral.upsert("code", "abc", {"client_id": "portal", "n": 2}, 60)
    assert ephemeral.find("code", "abc")["n"] == 2
    ephemeral.destroy("code", "abc")
    assert ephemeral.find("code", "abc") is None


def test_consume_is_single_use(ephemeral) -> None:
    ephemeral.upsert("code", "abc", {"v": 1}, 60)
    assert ephemeral.consume("code", "abc") == {"v": 1}
    assert ephemeral.consume("code", "abc") is None


def test_fifty_concurrent_consumers_exactly_one_wins(ephemeral) -> None:
    ephemeral.upsert("code", "race", {"v": "prize"}, 60)
    barrier = threading.Barrier(50)
    winners: list[object] = []

    def consume() -> None:
        barrier.wait()
        value = ephemeral.consume("code", "race")
        if value is not None:
            winners.append(value)

    threads = [threading.Thread(target=consume) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == [{"v": "prize"}]


def test_records_expire(ephemeral) -> None:
    ephemeral.upsert("session", "s", {"v": 1}, 1)
    assert ephemeral.find("session", "s") is not None
    time.sleep(1.2)
    assert ephemeral.find("session", "s") is None
    assert ephemeral.consume("session", "s") is None


def test_revoke_by_grant(ephemeral) -> None:
    ephemeral.upsert("access", "a1", {"v": 1}, 60, grant_id="g1")
    ephemeral.upsert("access", "a2", {"v": 2}, 60, grant_id="g1")
    ephemeral.upsert("access", "b1", {"v": 3}, 60, grant_id="g2")
    assert ephemeral.revoke_by_grant("g1") == 2
    assert ephemeral.find("access", "a1") is None and ephemeral.find("access", "a2") is None
    assert ephemeral.find("access", "b1") == {"v": 3}
    assert ephemeral.revoke_by_grant("g1") == 0


def test_consume_by_grant_returns_the_live_records(ephemeral) -> None:
    ephemeral.upsert("session", "s1", {"v": 1}, 60, grant_id="person:p")
    ephemeral.upsert("session", "s2", {"v": 2}, 60, grant_id="person:p")
    ephemeral.upsert("session", "s3", {"v": 3}, 60, grant_id="person:q")
    ephemeral.destroy("session", "s2")  # ended already: not returned
    assert ephemeral.consume_by_grant("person:p") == [{"v": 1}]
    assert ephemeral.find("session", "s1") is None and ephemeral.find("session", "s3") == {"v": 3}
    assert ephemeral.consume_by_grant("person:p") == []


def test_find_by_grant_reads_the_live_records_and_leaves_them(ephemeral) -> None:
    ephemeral.upsert("session", "s1", {"v": 1}, 60, grant_id="person:p")
    ephemeral.upsert("session", "s2", {"v": 2}, 60, grant_id="person:p")
    ephemeral.upsert("session", "s3", {"v": 3}, 60, grant_id="person:q")
    ephemeral.destroy("session", "s2")  # ended already: not read
    assert ephemeral.find_by_grant("person:p") == [{"v": 1}]
    assert ephemeral.find("session", "s1") == {"v": 1} and ephemeral.find_by_grant("nobody") == []


def test_add_once_and_increment(ephemeral) -> None:
    assert ephemeral.add_once("jti", "x", 60) is True
    assert ephemeral.add_once("jti", "x", 60) is False
    assert [ephemeral.increment("fail", "u", 60) for _ in range(3)] == [1, 2, 3]


def test_memory_store_uses_its_clock() -> None:
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    store.upsert("k", "1", {"v": 1}, 10)
    now[0] += 11
    assert store.find("k", "1") is None


def test_redis_grant_index_lives_as_long_as_its_longest_member(redis_store) -> None:
    redis_store.upsert("at", "long", {"v": 1}, 600, grant_id="g9")
    redis_store.upsert("at", "short", {"v": 2}, 30, grant_id="g9")  # does not shorten the index
    index = redis_store._grant_key("g9")
    assert 590 <= redis_store.client.ttl(index) <= 600
    assert redis_store.client.scard(index) == 2 and 25 <= redis_store.client.ttl(redis_store._key("at", "short")) <= 30
    redis_store.upsert("at", "longer", {"v": 3}, 900, grant_id="g9")
    assert redis_store.client.ttl(index) > 600
    redis_store.client.script_flush()  # a restarted Redis has forgotten the script: it is sent again
    redis_store.upsert("at", "after", {"v": 4}, 60, grant_id="g9")
    assert redis_store.revoke_by_grant("g9") == 4


def test_find_many_and_destroy_many(ephemeral) -> None:
    ephemeral.upsert("lock", "a", {"until": 1}, 60)
    ephemeral.upsert("backoff", "a", {"until": 2}, 60)
    assert ephemeral.find_many([("lock", "a"), ("ip_lock", "x"), ("backoff", "a")]) == [
        {"until": 1}, None, {"until": 2}]
    assert ephemeral.find_many([]) == []
    ephemeral.destroy_many([("lock", "a"), ("backoff", "a"), ("never", "there")])
    assert ephemeral.find_many([("lock", "a"), ("backoff", "a")]) == [None, None]
    ephemeral.destroy_many([])


def test_consume_marking_leaves_a_marker_that_names_what_to_revoke(ephemeral) -> None:
    ephemeral.upsert("code", "h", {"grant_id": "g-1", "client_id": "portal"}, 60)
    record, marker = ephemeral.consume_marking("code", "h", marker_kind="code_redeemed", keep="grant_id",
                                               marker_ttl=120)
    assert record == {"grant_id": "g-1", "client_id": "portal"} and marker is None
    assert ephemeral.find("code", "h") is None
    again = ephemeral.consume_marking("code", "h", marker_kind="code_redeemed", keep="grant_id", marker_ttl=120)
    assert again == (None, {"grant_id": "g-1"})
    assert ephemeral.consume_marking("code", "never", marker_kind="code_redeemed", keep="grant_id",
                                     marker_ttl=120) == (None, None)


def test_consume_marking_has_one_winner_among_fifty(ephemeral) -> None:
    ephemeral.upsert("code", "race", {"grant_id": "g"}, 60)
    barrier = threading.Barrier(50)
    outcomes: list[tuple[object, object]] = []

    def consume() -> None:
        barrier.wait()
        outcomes.append(ephemeral.consume_marking("code", "race", marker_kind="code_redeemed", keep="grant_id",
                                                  marker_ttl=60))

    threads = [threading.Thread(target=consume) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o for o in outcomes if o[0] is not None] == [({"grant_id": "g"}, None)]
    assert all(o == (None, {"grant_id": "g"}) for o in outcomes if o[0] is None)


def test_find_on_loop_reads_what_find_reads(ephemeral) -> None:
    """The event loop's read (``/userinfo``, ``/introspect``) sees exactly the stored record."""
    record = {"client_id": "portal", "scopes": ["openid"], "claims": {"name": "Trần Thị Lan"}, "n": None}
    ephemeral.upsert("at", "j1", record, 60)

    async def read(*ids: str) -> list[object]:
        try:
            return list(await asyncio.gather(*(ephemeral.find_on_loop("at", j) for j in ids)))
        finally:
            await ephemeral.close_on_loop()

    assert run_on_new_loop(read("j1", "missing", "j1")) == [ephemeral.find("at", "j1"), None, record]
    ephemeral.destroy("at", "j1")
    assert run_on_new_loop(read("j1")) == [None]  # gone at once, as for find


def test_redis_a_thread_whose_connection_the_server_dropped_gets_a_new_one(redis_store) -> None:
    import contextlib

    import redis

    redis_store.upsert("session", "s", {"n": 1}, 60)
    ours = redis_store._command("CLIENT", "ID")  # this thread's connection
    assert redis_store.client.client_kill_filter(_id=ours) == 1
    # The first command may be the one that finds out: it fails cleanly, nothing half-read stays.
    with contextlib.suppress(redis.exceptions.ConnectionError):
        redis_store.find("session", "s")
    assert redis_store.find("session", "s") == {"n": 1}
    redis_store.upsert("session", "t", {"n": 2}, 60)
    assert redis_store.find_many([("session", "s"), ("session", "t")]) == [{"n": 1}, {"n": 2}]


def test_redis_an_error_reply_raises_and_the_connection_keeps_working(redis_store) -> None:
    import pytest
    import redis

    redis_store.upsert("session", "s", {"n": 1}, 60)
    redis_store._command("SADD", redis_store._key("session", "set"), "member")
    with pytest.raises(redis.exceptions.ResponseError):  # GET of a set: WRONGTYPE
        redis_store.find("session", "set")
    assert redis_store.find("session", "s") == {"n": 1}
    assert redis_store.add_once("seen", "x", 60) is True
    assert redis_store.add_once("seen", "x", 60) is False

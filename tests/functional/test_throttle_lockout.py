"""Brute-force protection: 20 wrong passwords in a row lock an account; the right password is
then refused until the lock expires or an administrator unlocks it; unknown usernames behave
exactly like known ones; locks are audited."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from adapters.base import InvalidCredentials, PasswordAdapter
from adapters.local.adapter import LocalPasswordAdapter
from idp.accounts.service import create_local_account
from idp.security.throttle import HARD_CAP, Throttle
from idp.storage.ephemeral.memory import MemoryStore
from idp.storage.sql import SqlStorage
from tests.fakes import FakeClock, RecordingAudit

PASSWORD = "Hội An phố cổ đèn lồng 2025"
IP = "203.0.113.7"

def sign_in(throttle: Throttle, adapter: PasswordAdapter, username: str, password: str, ip: str = IP) -> str:
    """What the login flow does: check, authenticate, record."""
    decision = throttle.check(username, ip)
    if not decision.allowed:
        return str(decision.reason)
    try:
        adapter.authenticate(username, password)
    except InvalidCredentials:
        throttle.record_failure(username, ip)
        return "invalid"
    throttle.record_success(username, ip, checked=decision)
    return "ok"


@pytest.fixture
def adapter(sqlite_storage: SqlStorage) -> LocalPasswordAdapter:
    create_local_account(sqlite_storage, "lan.tran", PASSWORD, name="Trần Thị Lan")
    return LocalPasswordAdapter("local", sqlite_storage, issuer="http://127.0.0.1:8000")


def test_twenty_failures_lock_until_an_administrator_unlocks(ephemeral: object, adapter: LocalPasswordAdapter) -> None:
    audit = RecordingAudit()
    throttle = Throttle(ephemeral, audit, backoff_seconds=0)  # type: ignore[arg-type]
    username = "lan.tran"
    outcomes = [sign_in(throttle, adapter, username, f"wrong password number {i}") for i in range(20)]
    assert outcomes == ["invalid"] * 20
    assert sign_in(throttle, adapter, username, PASSWORD) == "account_locked"
    assert sign_in(throttle, adapter, "LAN.TRAN ", PASSWORD) == "account_locked"  # same account however typed
    locked = [e for e in audit.events if e.type == "account.locked"]
    assert len(locked) == 1 and locked[0].username == "lan.tran" and locked[0].details["failures"] == 20
    assert throttle.unlock("lan.tran") is True
    assert sign_in(throttle, adapter, username, PASSWORD) == "ok"
    assert [e.type for e in audit.events] == ["account.locked", "account.unlocked"]


def test_a_success_clears_the_failures_its_check_saw(ephemeral: object, adapter: LocalPasswordAdapter) -> None:
    throttle = Throttle(ephemeral, RecordingAudit(), backoff_seconds=0)  # type: ignore[arg-type]
    for i in range(3):
        assert sign_in(throttle, adapter, "lan.tran", f"wrong {i}") == "invalid"
    assert throttle.check("lan.tran", IP).failures == 3
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "ok"
    assert throttle.check("lan.tran", IP).failures == 0
    checked = throttle.check("lan.tran", IP)  # this attempt will succeed...
    throttle.record_failure("lan.tran", "198.51.100.9")  # ...while another one fails meanwhile
    throttle.record_success("lan.tran", IP, checked=checked)
    assert throttle.check("lan.tran", IP).failures == 1  # still counted: the success never saw it
    throttle.record_success("lan.tran", IP)  # without a decision: always cleared
    assert throttle.check("lan.tran", IP).failures == 0


def test_lock_expires_and_the_next_lock_lasts_longer(adapter: LocalPasswordAdapter) -> None:
    clock = FakeClock(1_750_000_000.0)
    throttle = Throttle(MemoryStore(clock=clock), RecordingAudit(), lock_seconds=900, backoff_seconds=0, clock=clock)
    for i in range(20):
        sign_in(throttle, adapter, "lan.tran", f"wrong {i}")
    decision = throttle.check("lan.tran", IP)
    assert (decision.allowed, decision.reason, decision.retry_after) == (False, "account_locked", 900)
    clock.now += 899
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "account_locked"
    clock.now += 2
    for i in range(20):  # still consecutive: no success in between
        sign_in(throttle, adapter, "lan.tran", f"wrong again {i}")
    assert throttle.check("lan.tran", IP).retry_after == 1800
    clock.now += 1801
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "ok"
    assert sign_in(throttle, adapter, "lan.tran", "wrong") == "invalid"  # the count started again
    assert throttle.check("lan.tran", IP).allowed


def test_unknown_username_is_throttled_like_a_known_one(ephemeral: object, adapter: LocalPasswordAdapter) -> None:
    throttle = Throttle(ephemeral, RecordingAudit(), backoff_seconds=0)  # type: ignore[arg-type]
    ghost = "khong.co." + secrets.token_hex(3)
    known = [sign_in(throttle, adapter, "lan.tran", f"w{i}", ip="198.51.100.1") for i in range(21)]
    unknown = [sign_in(throttle, adapter, ghost, f"w{i}", ip="198.51.100.2") for i in range(21)]
    assert known == unknown == ["invalid"] * 20 + ["account_locked"]


def test_backoff_grows_exponentially_after_five_failures(adapter: LocalPasswordAdapter) -> None:
    clock = FakeClock(1_750_000_000.0)
    throttle = Throttle(MemoryStore(clock=clock), RecordingAudit(), backoff_seconds=1, clock=clock)
    for i in range(4):
        assert sign_in(throttle, adapter, "lan.tran", f"w{i}") == "invalid"
    waits = []
    for i in range(4):
        assert sign_in(throttle, adapter, "lan.tran", f"x{i}") == "invalid"
        decision = throttle.check("lan.tran", IP)
        assert decision.reason == "backoff"
        waits.append(decision.retry_after)
        clock.now += decision.retry_after
    assert waits == [1, 2, 4, 8]


def test_hundred_consecutive_failures_need_an_administrator(adapter: LocalPasswordAdapter) -> None:
    clock = FakeClock(1_750_000_000.0)
    audit = RecordingAudit()
    throttle = Throttle(MemoryStore(clock=clock), audit, backoff_seconds=0, clock=clock)
    for _ in range(HARD_CAP):
        while not throttle.check("lan.tran", IP).allowed:  # wait out each temporary lock
            clock.now += throttle.check("lan.tran", IP).retry_after
        throttle.record_failure("lan.tran", IP)  # the password check itself is covered above
    assert audit.events[-1].reason == "hard_cap"
    clock.now += 30 * 24 * 3600
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "account_locked"
    throttle.unlock("lan.tran")
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "ok"


def test_one_address_guessing_many_accounts_is_refused(adapter: LocalPasswordAdapter) -> None:
    clock = FakeClock(1_750_000_000.0)
    audit = RecordingAudit()
    throttle = Throttle(MemoryStore(clock=clock), audit, ip_threshold=30, backoff_seconds=0, clock=clock)
    for i in range(30):
        throttle.record_failure(f"user{i}", "2001:db8:1:2::99")
    # another address in the same /64, another account: refused too
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD, ip="2001:db8:1:2::1") == "ip_locked"
    assert sign_in(throttle, adapter, "lan.tran", PASSWORD, ip="192.0.2.1") == "ok"
    assert any(e.type == "address.throttled" for e in audit.events)


def test_cli_unlock_reaches_the_servers_redis(
    redis_store: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    from idp.cli import main
    from idp.storage.ephemeral.redis import RedisStore

    assert isinstance(redis_store, RedisStore)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IDP_REDIS_URL", redis_url)
    monkeypatch.setenv("IDP_REDIS_PREFIX", redis_store.prefix)
    throttle = Throttle(redis_store, RecordingAudit(), backoff_seconds=0)
    for _ in range(20):
        throttle.record_failure("Lan.Tran", IP)
    assert not throttle.check("lan.tran", IP).allowed
    assert main(["accounts", "unlock", "lan.tran"]) == 0
    assert '"was_locked": true' in capsys.readouterr().out
    assert throttle.check("lan.tran", IP).allowed


def test_cli_unlock_refuses_without_a_shared_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from idp.cli import main

    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("IDP_REDIS_URL", raising=False)
    assert main(["accounts", "unlock", "lan.tran"]) == 1
    assert "IDP_REDIS_URL" in capsys.readouterr().err


def test_a_redis_that_lost_its_data_does_not_unlock(pg_storage: SqlStorage, adapter: LocalPasswordAdapter,
                                                    tmp_path: Path) -> None:
    """The lock is also in the database: a Redis of the test's own, restarted empty, gets it back
    (the counters start over); an administrator's unlock removes it from both."""
    from idp.storage.ephemeral import open_ephemeral_store
    from idp.storage.sql.account_locks import SqlAccountLocks
    from tests.resilience.cluster import Redis

    redis_server = Redis(tmp_path)
    redis_server.start()
    try:
        def replica() -> Throttle:  # a fresh connection to Redis, as a server reconnects after a failed request
            return Throttle(open_ephemeral_store(redis_server.url), RecordingAudit(), backoff_seconds=0,
                            locks=SqlAccountLocks(pg_storage.db))

        throttle = replica()
        for i in range(20):
            assert sign_in(throttle, adapter, "lan.tran", f"wrong password number {i}") == "invalid"
        assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "account_locked"
        redis_server.stop()
        redis_server.start()  # every key lost
        throttle = replica()
        assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "account_locked"
        assert sign_in(throttle, adapter, "another.name", "whatever it is") == "invalid"  # others unaffected
        assert throttle.unlock("lan.tran") is True
        redis_server.stop()
        redis_server.start()
        throttle = replica()
        assert sign_in(throttle, adapter, "lan.tran", PASSWORD) == "ok"
    finally:
        redis_server.stop()

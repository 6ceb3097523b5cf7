"""Throttling of password sign-in per account and per client address (NIST SP 800-63B rev. 4
§3.2.2 "rate limiting": at most 100 consecutive failed attempts on one account).

Policy, all counted in the short-lived store (Redis in production, so every replica agrees):

- Consecutive failures of one *username as typed* (known or not, so an unknown user and a wrong
  password behave identically) are counted until a success. From the 5th, the next attempt must
  wait ``backoff * 2**(n-5)`` seconds (at most 60). At every ``lock_threshold`` failures (20 by
  default) the account is locked for ``lock_seconds * 2**(k-1)`` (k-th lock, at most a day); at
  ``HARD_CAP`` (100) it stays locked until an administrator unlocks it (``idp accounts unlock``).
- Failures from one client address (IPv6: its /64) across all accounts: at ``ip_threshold``
  within ``lock_seconds`` the address is refused for ``lock_seconds``. Requests without a usable
  address count together as one address (never uncounted).
- A lock is recorded in the audit trail (``account.locked``); an unlock too (``account.unlocked``).
- A lock (not the counters) is also kept in the database (:class:`AccountLocks`): when the store has
  lost its data (its marker ``throttle.locks_loaded`` is gone), the locks still in force are loaded
  back before any answer, so a Redis restart cannot unlock an account. Counters start over.

While refused, the login flow must not check the password at all and shows one message
("too many attempts, try again later") whatever the username.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.settings import Settings
from idp.storage.ephemeral import EphemeralStore

HARD_CAP = 100
BACKOFF_FROM = 5
MAX_BACKOFF_SECONDS = 60
MAX_LOCK_SECONDS = 24 * 3600
HARD_LOCK_SECONDS = 90 * 24 * 3600  # "until an administrator unlocks it", bounded for the store
COUNTER_SECONDS = 90 * 24 * 3600  # consecutive failures are remembered this long without a success

FAILURES, BACKOFF, LOCK = "throttle.failures", "throttle.backoff", "throttle.lock"
IP_FAILURES, IP_LOCK = "throttle.ip_failures", "throttle.ip_lock"
LOCKS_LOADED = ("throttle.locks_loaded", "all")


class AccountLocks(Protocol):
    """The durable copy of account locks (idp.storage.sql.account_locks)."""

    def lock(self, key: str, until: datetime, failures: int) -> None: ...

    def unlock(self, key: str) -> None: ...

    def in_force(self) -> list[tuple[str, datetime, int]]: ...


@dataclass(frozen=True)
class ThrottleDecision:
    """Whether a sign-in attempt may go ahead. ``reason``: ``account_locked``, ``backoff`` or
    ``ip_locked`` when not; ``retry_after`` seconds (for a Retry-After header and the page);
    ``failures``: the account's consecutive failures when checked (what a success must clear)."""

    allowed: bool
    reason: str | None = None
    retry_after: int = 0
    failures: int = 0

    @classmethod
    def ok(cls) -> ThrottleDecision:
        return cls(True)


def account_key(username: str) -> str:
    """Store key of a username as typed (normalised like the accounts store, hashed: no PII in keys)."""
    normal = unicodedata.normalize("NFKC", username).strip().lower()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:40]


UNKNOWN_ADDRESS = "unknown"


def address_key(ip: str | None) -> str:
    """An IPv4 address, or the /64 of an IPv6 address (one host usually owns a whole /64).
    Anything else (no address, not an IP address) shares one key, ``unknown``: the per-address
    count is never skipped (idp.web.context gives an IP address whenever the connection has one)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else str(address)


class Throttle:
    """Per-account and per-address throttling in an :class:`EphemeralStore`."""

    def __init__(
        self,
        store: EphemeralStore,
        audit: AuditLog,
        *,
        lock_threshold: int = 20,
        lock_seconds: int = 900,
        ip_threshold: int = 100,
        backoff_seconds: int = 1,
        clock: Callable[[], float] = time.time,
        locks: AccountLocks | None = None,
    ) -> None:
        if not 1 <= lock_threshold <= HARD_CAP:
            raise ValueError("lock_threshold must be between 1 and 100")
        self.store, self.audit, self.clock = store, audit, clock
        self.lock_threshold, self.lock_seconds = lock_threshold, lock_seconds
        self.ip_threshold, self.backoff_seconds = ip_threshold, backoff_seconds
        self.locks = locks

    @classmethod
    def from_settings(cls, settings: Settings, store: EphemeralStore, audit: AuditLog,
                      locks: AccountLocks | None = None) -> Throttle:
        return cls(store, audit, lock_threshold=settings.login_lock_threshold,
                   lock_seconds=settings.login_lock_seconds, ip_threshold=settings.login_ip_threshold,
                   backoff_seconds=settings.login_backoff_seconds, locks=locks)

    def _reload_locks(self) -> dict[str, Any]:
        """Put the database's locks in force back into the store (it lost them); returns them by key."""
        assert self.locks is not None
        loaded: dict[str, Any] = {}
        for key, until, failures in self.locks.in_force():
            record = {"until": until.timestamp(), "failures": failures}
            seconds = math.ceil(until.timestamp() - self.clock())
            if seconds > 0:
                self.store.upsert(LOCK, key, record, seconds)
                loaded[key] = record
        self.store.upsert(*LOCKS_LOADED, {"at": self.clock()}, HARD_LOCK_SECONDS)
        return loaded

    def _remaining(self, record: dict[str, Any] | None) -> int:
        return max(1, math.ceil(float((record or {}).get("until", 0)) - self.clock()))

    def check(self, username: str, ip: str | None) -> ThrottleDecision:
        """May this username be tried from this address now? Call before checking a password.
        One read of the store for the three holds (account lock, address lock, back-off) and the
        account's failure count."""
        key, address = account_key(username), address_key(ip)
        holds = [(LOCK, key), (BACKOFF, key), (FAILURES, key), (IP_LOCK, address), LOCKS_LOADED]
        lock, backoff, failures, ip_lock, loaded = self.store.find_many(holds)
        if loaded is None and self.locks is not None:  # the store lost its data (or never had it)
            lock = self._reload_locks().get(key, lock)
        if lock is not None:
            return ThrottleDecision(False, "account_locked", self._remaining(lock))
        if ip_lock is not None:
            return ThrottleDecision(False, "ip_locked", self._remaining(ip_lock))
        if backoff is not None:
            return ThrottleDecision(False, "backoff", self._remaining(backoff))
        return ThrottleDecision(True, failures=int(cast(Any, failures) or 0))  # a counter, not a record

    def record_failure(
        self, username: str, ip: str | None, *, context: AuditContext | None = None
    ) -> ThrottleDecision:
        """Count a failed attempt (wrong password, unknown user, wrong one-time code); lock when
        a threshold is reached. Returns what the next attempt will meet."""
        key, address, now = account_key(username), address_key(ip), self.clock()
        failures = self.store.increment(FAILURES, key, COUNTER_SECONDS)
        decision = ThrottleDecision.ok()
        if failures >= HARD_CAP or failures % self.lock_threshold == 0:
            hard = failures >= HARD_CAP
            seconds = HARD_LOCK_SECONDS if hard else min(
                self.lock_seconds * 2 ** (failures // self.lock_threshold - 1), MAX_LOCK_SECONDS)
            self.store.upsert(LOCK, key, {"until": now + seconds, "failures": failures}, seconds)
            if self.locks is not None:
                self.locks.lock(key, datetime.fromtimestamp(now + seconds, UTC), failures)
            self.audit.record(AuditEvent(
                type="account.locked", outcome="denied", username=username.strip()[:255],
                reason="hard_cap" if hard else "too_many_failures",
                details={"failures": failures, "until": datetime.fromtimestamp(now + seconds, UTC).isoformat()},
                context=context or AuditContext(ip=ip),
            ))
            decision = ThrottleDecision(False, "account_locked", seconds)
        elif failures >= BACKOFF_FROM and self.backoff_seconds > 0:
            seconds = min(self.backoff_seconds * 2 ** (failures - BACKOFF_FROM), MAX_BACKOFF_SECONDS)
            self.store.upsert(BACKOFF, key, {"until": now + seconds}, seconds)
            decision = ThrottleDecision(False, "backoff", seconds)
        if self.store.increment(IP_FAILURES, address, self.lock_seconds) == self.ip_threshold:
            self.store.upsert(IP_LOCK, address, {"until": now + self.lock_seconds}, self.lock_seconds)
            self.audit.record(AuditEvent(
                type="address.throttled", outcome="denied", reason="too_many_failures",
                details={"seconds": self.lock_seconds}, context=context or AuditContext(ip=ip),
            ))
            if decision.allowed:
                decision = ThrottleDecision(False, "ip_locked", self.lock_seconds)
        return decision

    def record_success(self, username: str, ip: str | None = None, *, checked: ThrottleDecision | None = None
                       ) -> None:
        """A successful sign-in ends the run of consecutive failures of that account (not of the
        address: one good account must not reset an address that guesses at many). ``checked``:
        this attempt's :meth:`check`; when it saw no failures there is nothing to clear, and no
        write (a failure a concurrent attempt records meanwhile stays counted)."""
        if checked is not None and checked.failures == 0:
            return
        key = account_key(username)
        self.store.destroy_many([(FAILURES, key), (BACKOFF, key)])

    def unlock(self, username: str, *, by: str = "administrator", context: AuditContext | None = None) -> bool:
        """Lift a lock and forget the failures (administrator action, audited). True when the
        account was locked."""
        key = account_key(username)
        was_locked = self.store.find(LOCK, key) is not None
        if self.locks is not None:
            self.locks.unlock(key)
        self.store.destroy_many([(kind, key) for kind in (LOCK, FAILURES, BACKOFF)])
        self.audit.record(AuditEvent(
            type="account.unlocked", username=username.strip()[:255],
            reason="administrator" if was_locked else "not_locked", details={"by": by},
            context=context or AuditContext(),
        ))
        return was_locked

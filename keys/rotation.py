"""Key lifecycle: first keys, rotation and retirement, each in one audited transaction.

- ``ensure``: every configured algorithm has a current and a next key (first start, new algs).
- ``rotate``: next -> current, current -> retired (published until its tokens expire), and a new
  next key. Refused while the next key is younger than the JWKS cache lifetime unless forced.
- ``retire KID``: the key leaves the JWKS at once (``withdrawn``); if it was current, the next key
  is promoted first, so signing never stops.

Replicas and the ``idp`` command may run these concurrently: each runs under a database lock
(SQLite ``BEGIN IMMEDIATE``, a PostgreSQL transaction-scoped advisory lock) and re-reads the keys
inside it, so two starts never make two current keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from idp.audit.events import AuditEvent, AuditLog
from idp.storage.db import UNBOUNDED
from idp.storage.models import SigningKeyRecord
from idp.storage.sql import SqlStorage
from keys.backend import KeyBackend
from keys.errors import KeysError, RotationRefused
from keys.schedule import CURRENT, NEXT, RETIRED, WITHDRAWN, KeySchedule

ADVISORY_LOCK_ID = 0x766E_6964_706B  # "vnidpk": serialises key-ring changes in PostgreSQL


@dataclass(frozen=True)
class Rotation:
    alg: str
    current: str
    retired: str | None
    next: str


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class KeyLifecycle:
    storage: SqlStorage
    backend: KeyBackend
    audit: AuditLog
    schedule: KeySchedule

    @contextmanager
    def _locked(self) -> Iterator[list[SigningKeyRecord]]:
        with self.storage.db.transaction() as conn:
            if conn.dialect.name == "postgresql":  # maintenance: waits as long as another replica's takes
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)").execution_options(**UNBOUNDED),
                             {"id": ADVISORY_LOCK_ID})
            yield list(self.storage.keys.list())

    def _generate(self, alg: str, state: str, now: datetime) -> SigningKeyRecord:
        _signer, record = self.backend.generate(alg)
        record = record.replace(state=state, created_at=now, activated_at=now if state == CURRENT else None)
        stored = self.storage.keys.add(record)
        self.audit.record(
            AuditEvent(
                type="key.generated",
                details={"kid": record.kid, "alg": alg, "backend": record.backend, "state": state},
            )
        )
        return stored

    def ensure(self, algorithms: Sequence[str]) -> list[SigningKeyRecord]:
        """Give every algorithm a current and a next key; return the keys generated."""
        made: list[SigningKeyRecord] = []
        with self._locked() as records:
            now = _now()
            for alg in algorithms:
                mine = [r for r in records if r.alg == alg]
                if not any(r.state == CURRENT for r in mine):
                    made.append(self._generate(alg, CURRENT, now))
                if not any(r.state == NEXT for r in mine):
                    made.append(self._generate(alg, NEXT, now))
        return made

    def rotate(self, alg: str, *, force: bool = False, actor: str | None = None) -> Rotation:
        """Promote the next key of ``alg``; retire the current one; publish a new next key
        (``actor``: who asked, recorded in the ``key.rotated`` event)."""
        with self._locked() as records:
            now = _now()
            current = _one(records, alg, CURRENT)
            upcoming = _one(records, alg, NEXT)
            if upcoming is None:
                raise RotationRefused(f"Không có khóa kế tiếp cho {alg}. / No next key for {alg}: start the "
                                      "provider once (or run `idp keys list`) to publish one, then rotate.")
            if not force and not self.schedule.ready_to_sign(upcoming, now):
                ready = upcoming.created_at + self.schedule.next_key_lead_time
                raise RotationRefused(
                    f"Khóa kế tiếp {upcoming.kid} mới công bố; chỉ được dùng từ {ready:%Y-%m-%d %H:%M:%S} UTC. "
                    f"/ Next key {upcoming.kid} has not been published long enough for JWKS caches; "
                    f"rotate after {ready.isoformat(timespec='seconds')} (or --force)."
                )
            self.storage.keys.update(upcoming.kid, lambda r: r.replace(state=CURRENT, activated_at=now))
            if current is not None:
                self.storage.keys.update(current.kid, lambda r: r.replace(state=RETIRED, retired_at=now))
            fresh = self._generate(alg, NEXT, now)
            result = Rotation(alg, upcoming.kid, current.kid if current else None, fresh.kid)
            self.audit.record(AuditEvent(type="key.rotated", details={**result.__dict__, "forced": force,
                                                                     **({"actor": actor} if actor else {})}))
            return result

    def retire(self, kid: str, *, actor: str | None = None) -> SigningKeyRecord:
        """Withdraw ``kid`` from the JWKS now; keep every algorithm able to sign (``actor``: who
        asked, recorded in the ``key.retired`` event)."""
        with self._locked() as records:
            now = _now()
            record = next((r for r in records if r.kid == kid), None)
            if record is None:
                raise KeysError(f"Không có khóa {kid}. / No signing key {kid}.")
            if record.state == WITHDRAWN:
                return record
            if record.state == CURRENT:
                upcoming = _one(records, record.alg, NEXT)
                if upcoming is None:
                    raise RotationRefused(f"No next key to replace {kid}; rotate first.")
                self.storage.keys.update(upcoming.kid, lambda r: r.replace(state=CURRENT, activated_at=now))
            withdrawn = self.storage.keys.update(
                kid, lambda r: r.replace(state=WITHDRAWN, retired_at=r.retired_at or now)
            )
            if record.state in (CURRENT, NEXT):
                self._generate(record.alg, NEXT, now)
            self.audit.record(
                AuditEvent(
                    type="key.retired",
                    details={"kid": kid, "alg": record.alg, "previous_state": record.state,
                             **({"actor": actor} if actor else {})},
                )
            )
            return withdrawn


def _one(records: Sequence[SigningKeyRecord], alg: str, state: str) -> SigningKeyRecord | None:
    """The newest key of ``alg`` in ``state``."""
    matching = [r for r in records if r.alg == alg and r.state == state]
    return max(matching, key=lambda r: r.created_at) if matching else None

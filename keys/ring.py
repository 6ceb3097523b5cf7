"""The key ring of one provider process: current signers, the published JWKS, verification.

Every replica holds an immutable snapshot rebuilt from ``signing_keys`` by :meth:`KeyRing.refresh`
(cheap: one SELECT; keys are opened only when new). ``start_auto_refresh`` runs it on a daemon
thread so a rotation made by any replica or by ``idp keys rotate`` is picked up within seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from idp.audit.events import AuditLog
from idp.settings import Settings
from idp.storage.models import SigningKeyRecord
from idp.storage.protocols import SigningKeyStore
from idp.storage.sql import SqlStorage
from keys import verify
from keys.algorithms import PublicKey
from keys.errors import KeyConfigError, NoSigningKey
from keys.jwk import PRIVATE_MEMBERS, b64url, public_key_from_jwk
from keys.schedule import CURRENT, NEXT, RETIRED, KeySchedule
from keys.signer import DEFAULT_ALGORITHM, Signer

log = logging.getLogger(__name__)
_STATE_ORDER = {CURRENT: 0, NEXT: 1}


@dataclass(frozen=True)
class _Snapshot:
    fingerprint: tuple[Any, ...] = ()
    signers: Mapping[str, Signer] = field(default_factory=dict)
    verification_keys: Mapping[str, tuple[str, PublicKey]] = field(default_factory=dict)
    jwks: Mapping[str, Any] = field(default_factory=lambda: {"keys": []})
    document: bytes = b'{"keys":[]}'
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Tokens already verified against exactly these keys (see KeyRing.verify_jwt ``remember``).
    verified: dict[tuple[str | None, str], tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)


#: At most this many verified tokens are remembered per key snapshot (a few MiB).
REMEMBERED_TOKENS = 4096


class KeyRing:
    """Signers by algorithm and the published keys, as of the last refresh."""

    def __init__(
        self,
        store: SigningKeyStore,
        load_signer: Callable[[SigningKeyRecord], Signer],
        schedule: KeySchedule,
        *,
        preferred_algorithms: Sequence[str] = (DEFAULT_ALGORITHM,),
    ) -> None:
        self._store = store
        self._load_signer = load_signer
        self.schedule = schedule
        self._preferred = list(preferred_algorithms)
        self._signers: dict[str, Signer] = {}
        self._snapshot = _Snapshot()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lifecycle: Any = None  # keys.rotation.KeyLifecycle when opened by open_key_ring

    # -- signing -------------------------------------------------------------------------------
    def signer(self, alg: str | None = None) -> Signer:
        """The current signer for ``alg`` (default: the first configured algorithm, ES256)."""
        alg = alg or (self._preferred[0] if self._preferred else DEFAULT_ALGORITHM)
        try:
            return self._snapshot.signers[alg]
        except KeyError:
            raise NoSigningKey(f"Không có khóa ký hiện hành cho {alg}. / No current signing key for {alg}.") from None

    def algorithms(self) -> list[str]:
        """Algorithms with a current key, configured order first (for discovery metadata)."""
        have = self._snapshot.signers
        return [a for a in self._preferred if a in have] + sorted(a for a in have if a not in self._preferred)

    # -- publishing ----------------------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        """The JWK Set: current keys, next keys, and retired keys whose tokens may still be valid."""
        return dict(json.loads(self._snapshot.document))

    def jwks_document(self) -> tuple[bytes, dict[str, str]]:
        """The JWKS as ready JSON bytes and its response headers (Cache-Control, ETag)."""
        snapshot = self._snapshot
        return snapshot.document, dict(snapshot.headers)

    # -- verifying -----------------------------------------------------------------------------
    def verify_jwt(self, token: str | bytes, *, typ: str | None = None,
                   remember: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a JWS signed by one of our published keys; return (header, claims). Raises
        InvalidToken for anything else (see keys.verify for the refusals). Claims are NOT checked:
        use check_time_claims and check iss/aud as the token type requires.

        With ``remember``, a token whose exact text was verified before under the same published
        keys is not verified again (resource servers present one access token many times); any
        change of the keys (rotation, retirement) starts a new, empty memory. Callers get copies."""
        snapshot = self._snapshot
        key = (typ, token.decode("ascii", "replace") if isinstance(token, bytes) else token)
        if remember and (known := snapshot.verified.get(key)) is not None:
            return dict(known[0]), dict(known[1])
        header, claims = verify.verify_compact(token, snapshot.verification_keys, typ=typ)
        if remember:
            if len(snapshot.verified) >= REMEMBERED_TOKENS:
                snapshot.verified.clear()
            snapshot.verified[key] = (dict(header), dict(claims))
        return header, claims

    def remember_issued(self, token: str, signer: Signer, *, typ: str, claims: Mapping[str, Any]) -> None:
        """Remember a token this process just signed as if ``verify_jwt(remember=True)`` had
        verified it (a relying party presents it at once: userinfo after the code exchange). Only
        while ``signer``'s key is published with its algorithm in the current snapshot."""
        snapshot = self._snapshot
        if snapshot.verification_keys.get(signer.kid, (None,))[0] != signer.alg:
            return
        if len(snapshot.verified) >= REMEMBERED_TOKENS:
            snapshot.verified.clear()
        header = {"alg": signer.alg, "kid": signer.kid, "typ": typ}
        snapshot.verified[(typ, token)] = (header, json.loads(json.dumps(claims)))

    # -- refreshing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the key records; rebuild the snapshot only when something changed."""
        with self._lock:
            now = datetime.now(UTC)
            records = [r for r in self._store.list() if self.schedule.is_published(r, now)]
            records.sort(key=lambda r: (_STATE_ORDER.get(r.state, 2), self._alg_rank(r.alg), r.created_at))
            fingerprint = tuple((r.kid, r.state, r.version) for r in records)
            if fingerprint == self._snapshot.fingerprint:
                return
            self._snapshot = self._build(records, fingerprint)

    def _alg_rank(self, alg: str) -> int:
        return self._preferred.index(alg) if alg in self._preferred else len(self._preferred)

    def _build(self, records: list[SigningKeyRecord], fingerprint: tuple[Any, ...]) -> _Snapshot:
        signers: dict[str, Signer] = {}
        for record in records:
            if record.state in (CURRENT, NEXT) and record.kid not in self._signers:
                self._signers[record.kid] = self._load_signer(record)
            if record.state == CURRENT and record.alg not in signers:
                signers[record.alg] = self._signers[record.kid]
        live = {r.kid for r in records if r.state in (CURRENT, NEXT)}
        for kid in [k for k in self._signers if k not in live]:
            del self._signers[kid]
        verification = {r.kid: (r.alg, public_key_from_jwk(r.public_jwk)) for r in records}
        jwks = {"keys": [_published_jwk(r) for r in records]}
        document = json.dumps(jwks, separators=(",", ":"), sort_keys=False).encode("utf-8")
        etag = '"' + b64url(hashlib.sha256(document).digest()[:18]) + '"'
        headers = {"Cache-Control": f"public, max-age={self.schedule.jwks_max_age}", "ETag": etag}
        return _Snapshot(fingerprint, signers, verification, jwks, document, headers)

    def start_auto_refresh(self, interval: float | None = None) -> None:
        """Refresh every ``interval`` seconds (default: the schedule's) on a daemon thread."""
        if self._thread is not None:
            return
        period = interval or self.schedule.refresh_interval
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(period,), name="key-ring-refresh", daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            try:
                self.refresh()
            except Exception as exc:  # keep the last good snapshot; never crash the thread
                log.error("key ring refresh failed: %s", type(exc).__name__ + (f": {exc}" if isinstance(
                    exc, KeyConfigError) else ""))

    def close(self) -> None:
        """Stop the refresher thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _published_jwk(record: SigningKeyRecord) -> dict[str, Any]:
    public = {k: v for k, v in record.public_jwk.items() if k not in PRIVATE_MEMBERS}
    return {**public, "kid": record.kid, "alg": record.alg, "use": "sig"}


def open_key_ring(settings: Settings, storage: SqlStorage, audit: AuditLog) -> KeyRing:
    """Open the configured key backend, check every stored key opens, give each configured
    algorithm a current and a next key, and load the ring. KeyConfigError (one readable line)
    when the KEK or the HSM is wrong; never generates keys over keys it cannot open."""
    from keys.backends import open_backends
    from keys.rotation import KeyLifecycle

    records = list(storage.keys.list())
    backends = open_backends(settings, records)
    for record in records:
        if record.state in (CURRENT, NEXT, RETIRED):
            backend = backends.get(record.backend)
            if backend is None:
                raise KeyConfigError(
                    f"Khóa ký {record.kid} nằm ở kho {record.backend!r} chưa được cấu hình. "
                    f"/ Signing key {record.kid} lives in backend {record.backend!r}, which is not configured."
                )
            if record.state != RETIRED or record.backend == "software":
                backend.check(record)
    schedule = KeySchedule.from_settings(settings)
    lifecycle = KeyLifecycle(storage, backends[settings.key_backend], audit, schedule)
    lifecycle.ensure(settings.signing_algorithms)

    def load_signer(record: SigningKeyRecord) -> Signer:
        return backends[record.backend].load(record)

    ring = KeyRing(storage.keys, load_signer, schedule, preferred_algorithms=settings.signing_algorithms)
    ring.lifecycle = lifecycle
    ring.refresh()
    return ring

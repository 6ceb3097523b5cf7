"""When a key is published, and when a rotation is safe.

Key states (column ``signing_keys.state``):

- ``next``: published in the JWKS, signs nothing yet. Relying parties that fetch the JWKS learn it
  before it signs, so a rotation never breaks one whose cached JWKS is younger than the key.
- ``current``: signs; one per algorithm.
- ``retired``: signs nothing; stays published until every token it signed has expired
  (``retired_at`` + the longest token lifetime + clock leeway).
- ``withdrawn``: removed from the JWKS at once (``idp keys retire``, e.g. after a compromise).

Cache headers: the JWKS may be cached for ``jwks_max_age`` seconds, so a ``next`` key must have
been published for at least that long (plus the replicas' refresh interval) before it is promoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from idp.settings import Settings
from idp.storage.models import SigningKeyRecord

NEXT = "next"
CURRENT = "current"
RETIRED = "retired"
WITHDRAWN = "withdrawn"
STATES = (NEXT, CURRENT, RETIRED, WITHDRAWN)

CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class KeySchedule:
    token_lifetime: timedelta
    jwks_max_age: int
    refresh_interval: float
    leeway: timedelta = timedelta(seconds=CLOCK_LEEWAY_SECONDS)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeySchedule:
        longest = max(settings.id_token_ttl_seconds, settings.access_token_ttl_seconds)
        return cls(
            token_lifetime=timedelta(seconds=longest),
            jwks_max_age=settings.jwks_max_age_seconds,
            refresh_interval=settings.key_refresh_seconds,
        )

    @property
    def next_key_lead_time(self) -> timedelta:
        """How long a ``next`` key must have been published before it may sign."""
        return timedelta(seconds=self.jwks_max_age + self.refresh_interval)

    def published_until(self, record: SigningKeyRecord) -> datetime | None:
        """When a retired key leaves the JWKS (None: no end planned or already withdrawn)."""
        if record.state == RETIRED and record.retired_at is not None:
            return record.retired_at + self.token_lifetime + self.leeway
        return None

    def is_published(self, record: SigningKeyRecord, now: datetime) -> bool:
        if record.state in (NEXT, CURRENT):
            return True
        until = self.published_until(record)
        return until is not None and now < until

    def ready_to_sign(self, record: SigningKeyRecord, now: datetime) -> bool:
        """True when a ``next`` key has been published long enough for every JWKS cache."""
        return now - record.created_at >= self.next_key_lead_time

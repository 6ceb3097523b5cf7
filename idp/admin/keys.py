"""The signing-key ring as administrators see it (``idp keys list`` and ``GET /admin/keys``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from idp.storage.models import SigningKeyRecord
from keys.schedule import KeySchedule


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def key_rows(records: Iterable[SigningKeyRecord], schedule: KeySchedule, now: datetime) -> list[dict[str, Any]]:
    """Every key with its state and publication (no key material)."""
    return [{
        "kid": r.kid, "alg": r.alg, "backend": r.backend, "state": r.state,
        "published": schedule.is_published(r, now),
        "created_at": r.created_at.isoformat(timespec="seconds"),
        "activated_at": _when(r.activated_at), "retired_at": _when(r.retired_at),
        "published_until": _when(schedule.published_until(r)),
    } for r in records]

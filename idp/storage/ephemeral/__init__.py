"""Short-lived state with TTLs: authorization requests, codes, sessions, PAR requests, replay
caches and rate-limit counters. Redis in production, in-process for the embedded default."""

from __future__ import annotations

from idp.storage.ephemeral.base import EphemeralStore
from idp.storage.ephemeral.memory import MemoryStore


def open_ephemeral_store(redis_url: str | None, prefix: str = "idp:") -> EphemeralStore:
    """Redis when a URL is given, otherwise the in-process store."""
    if redis_url:
        from idp.storage.ephemeral.redis import RedisStore

        return RedisStore.from_url(redis_url, prefix=prefix)
    return MemoryStore()


__all__ = ["EphemeralStore", "MemoryStore", "open_ephemeral_store"]

"""Redis ephemeral store (redis-py). Keys: ``<prefix><kind>:<id>``; grant index sets
``<prefix>grant:<grant_id>``. ``consume`` is GETDEL, atomic on the server."""

from __future__ import annotations

import json
from typing import Any

import redis


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str = "idp:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "idp:") -> RedisStore:
        client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30, max_connections=64
        )
        return cls(client, prefix)

    def _key(self, kind: str, id: str) -> str:
        return f"{self.prefix}{kind}:{id}"

    def _grant_key(self, grant_id: str) -> str:
        return f"{self.prefix}grant:{grant_id}"

    def upsert(self, kind: str, id: str, value: dict[str, Any], ttl: int, *, grant_id: str | None = None) -> None:
        key = self._key(kind, id)
        data = json.dumps(value, separators=(",", ":"))
        if grant_id is None:
            self.client.set(key, data, ex=ttl)
            return
        grant_key = self._grant_key(grant_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, data, ex=ttl)
        pipe.sadd(grant_key, key)
        # The index lives as long as its longest member.
        pipe.expire(grant_key, ttl, gt=True)
        pipe.expire(grant_key, ttl, nx=True)
        pipe.execute()

    def find(self, kind: str, id: str) -> dict[str, Any] | None:
        data = self.client.get(self._key(kind, id))
        return json.loads(data) if data is not None else None

    def consume(self, kind: str, id: str) -> dict[str, Any] | None:
        data = self.client.getdel(self._key(kind, id))
        return json.loads(data) if data is not None else None

    def destroy(self, kind: str, id: str) -> None:
        self.client.delete(self._key(kind, id))

    def revoke_by_grant(self, grant_id: str) -> int:
        grant_key = self._grant_key(grant_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.smembers(grant_key)
        pipe.delete(grant_key)
        members, _ = pipe.execute()
        if not members:
            return 0
        return int(self.client.delete(*members))

    def add_once(self, kind: str, id: str, ttl: int) -> bool:
        return bool(self.client.set(self._key(kind, id), b"1", ex=ttl, nx=True))

    def increment(self, kind: str, id: str, ttl: int) -> int:
        key = self._key(kind, id)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def ping(self) -> None:
        self.client.ping()

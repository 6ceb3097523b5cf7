"""Redis ephemeral store (redis-py). Keys: ``<prefix><kind>:<id>``; grant index sets
``<prefix>grant:<grant_id>``. ``consume`` is GETDEL, atomic on the server."""

from __future__ import annotations

import json
from typing import Any

import redis

# KEYS: the record, its grant's index set; ARGV: the record's JSON, its TTL in seconds.
# The index lives as long as its longest member (its TTL only ever grows).
_UPSERT_IN_GRANT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
"""


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str = "idp:") -> None:
        self.client = client
        self.prefix = prefix
        self._upsert_in_grant = client.register_script(_UPSERT_IN_GRANT)

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
        # One round trip, atomic on the server (a script, not a MULTI of four commands).
        self._upsert_in_grant(keys=[key, self._grant_key(grant_id)], args=[data, ttl])

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

"""Redis ephemeral store (redis-py). Keys: ``<prefix><kind>:<id>``; grant index sets
``<prefix>grant:<grant_id>``. ``consume`` is GETDEL, atomic on the server.

Each thread sends its single commands and scripts over a connection of its own, taken once from the
pool: a pool checkout per command (a lock, bookkeeping and a ``poll`` for stray data) costs as much
CPU as the command itself (bench/experiments/redis_checkout.py). They go straight to that
connection (:meth:`RedisStore._command`): redis-py's client path around it (operation metrics,
retry closures, response callbacks) cost another 15-25 µs per command. On any failure but an error
reply the connection is dropped, as the client does, so the thread's next command starts on a fresh
one. Pipelines use the pool as before.
The event loop reads with :meth:`RedisStore.find_on_loop` over a connection of its own
(:mod:`idp.storage.ephemeral.loop_reader`).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import Any

import redis
from redis.commands.core import Script

from idp.storage.ephemeral.loop_reader import LoopReader

# KEYS: the record, its grant's index set; ARGV: the record's JSON, its TTL in seconds.
# The index lives as long as its longest member (its TTL only ever grows).
_UPSERT_IN_GRANT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
"""

# KEYS: the record, its marker; ARGV: the field the marker keeps, the marker's TTL in seconds.
# Returns {record, false} when consumed, {false, marker} when it was gone.
_CONSUME_MARKING = """
local data = redis.call('GETDEL', KEYS[1])
if not data then return {false, redis.call('GET', KEYS[2])} end
local kept = cjson.decode(data)[ARGV[1]]
redis.call('SET', KEYS[2], cjson.encode({[ARGV[1]] = kept}), 'EX', ARGV[2])
return {data, false}
"""


def _loads(data: bytes | None) -> dict[str, Any] | None:
    return json.loads(data) if data is not None else None


class RedisStore:
    def __init__(self, client: redis.Redis[bytes], prefix: str = "idp:") -> None:
        self.client = client
        self.prefix = prefix
        self._upsert_in_grant = client.register_script(_UPSERT_IN_GRANT)
        self._consume_marking = client.register_script(_CONSUME_MARKING)
        self._local = threading.local()
        #: Bumped when any thread's connection fails: every other thread then starts its next command
        #: on a fresh connection instead of finding out on a connection of a Redis that restarted.
        self._generation = 0
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or 2.0
        self._loop_reader = LoopReader.for_pool(client.connection_pool, timeout=float(timeout))

    @property
    def _own(self) -> redis.Redis[bytes]:
        """This thread's client on a connection of its own (returned to the pool when the thread ends)."""
        own = getattr(self._local, "client", None)
        if own is None:
            own = redis.Redis(connection_pool=self.client.connection_pool, single_connection_client=True)
            self._local.client = own
        return own

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "idp:") -> RedisStore:
        client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30, max_connections=128
        )
        return cls(client, prefix)

    def _command(self, *args: Any) -> Any:
        """One command on this thread's connection; its reply as the server sent it (``GET``: bytes
        or None, ``SET``: b"OK" or None, ``DEL``: an integer). An error reply raises redis-py's
        ``ResponseError`` (``NoScriptError``...) and keeps the connection; anything else (lost, timed
        out, interrupted half-way) drops it and raises."""
        connection = self._own.connection  # type: ignore[attr-defined]  # a single-connection client's
        assert connection is not None
        generation = self._generation
        if getattr(self._local, "generation", 0) != generation:
            connection.disconnect()  # another thread lost Redis since: do not try this one's old connection
            self._local.generation = generation
        try:
            connection.send_packed_command(connection.pack_command(*args))
            return connection.read_response()
        except redis.exceptions.ResponseError:
            raise
        except BaseException:
            connection.disconnect()
            self._generation = self._local.generation = generation + 1
            raise

    def _run(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        """Run a registered script by its digest on this thread's connection (``Script.__call__``
        re-checks its client on every call); sent whole when the server has lost it (a restart)."""
        try:
            return self._command("EVALSHA", script.sha, len(keys), *keys, *args)  # type: ignore[attr-defined]
        except redis.exceptions.NoScriptError:
            return script(keys=keys, args=args, client=self._own)

    def _key(self, kind: str, id: str) -> str:
        return f"{self.prefix}{kind}:{id}"

    def _grant_key(self, grant_id: str) -> str:
        return f"{self.prefix}grant:{grant_id}"

    def upsert(self, kind: str, id: str, value: dict[str, Any], ttl: int, *, grant_id: str | None = None) -> None:
        key = self._key(kind, id)
        data = json.dumps(value, separators=(",", ":"))
        if grant_id is None:
            self._command("SET", key, data, "EX", ttl)
            return
        # One round trip, atomic on the server (a script, not a MULTI of four commands).
        self._run(self._upsert_in_grant, [key, self._grant_key(grant_id)], [data, ttl])

    def find(self, kind: str, id: str) -> dict[str, Any] | None:
        return _loads(self._command("GET", self._key(kind, id)))

    async def find_on_loop(self, kind: str, id: str) -> dict[str, Any] | None:
        if self._loop_reader is None:  # TLS, a Unix socket...: through a thread, as find
            return await asyncio.get_running_loop().run_in_executor(None, self.find, kind, id)
        return _loads(await self._loop_reader.get(self._key(kind, id)))

    async def close_on_loop(self) -> None:
        if self._loop_reader is not None:
            await self._loop_reader.close_on_loop()

    def consume(self, kind: str, id: str) -> dict[str, Any] | None:
        return _loads(self._command("GETDEL", self._key(kind, id)))

    def destroy(self, kind: str, id: str) -> None:
        self._command("DEL", self._key(kind, id))

    def find_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        if not keys:
            return []
        return [_loads(data) for data in self._command("MGET", *(self._key(kind, id) for kind, id in keys))]

    def destroy_many(self, keys: Sequence[tuple[str, str]]) -> None:
        if keys:
            self._command("DEL", *(self._key(kind, id) for kind, id in keys))

    def consume_marking(self, kind: str, id: str, *, marker_kind: str, keep: str, marker_ttl: int
                        ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        data, marker = self._run(self._consume_marking, [self._key(kind, id), self._key(marker_kind, id)],
                                 [keep, marker_ttl])
        return _loads(data), _loads(marker)

    def revoke_by_grant(self, grant_id: str) -> int:
        grant_key = self._grant_key(grant_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.smembers(grant_key)
        pipe.delete(grant_key)
        members, _ = pipe.execute()
        if not members:
            return 0
        return int(self.client.delete(*members))

    def consume_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        grant_key = self._grant_key(grant_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.smembers(grant_key)
        pipe.delete(grant_key)
        members, _ = pipe.execute()
        if not members:
            return []
        pipe = self.client.pipeline(transaction=True)
        pipe.mget(*members)
        pipe.delete(*members)
        values, _ = pipe.execute()
        return [record for data in values if (record := _loads(data)) is not None]

    def find_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        members = self._command("SMEMBERS", self._grant_key(grant_id))
        if not members:
            return []
        return [record for data in self._command("MGET", *members) if (record := _loads(data)) is not None]

    def add_once(self, kind: str, id: str, ttl: int) -> bool:
        return self._command("SET", self._key(kind, id), b"1", "EX", ttl, "NX") is not None

    def increment(self, kind: str, id: str, ttl: int) -> int:
        key = self._key(kind, id)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def ping(self) -> None:
        self.client.ping()

"""CPU per Redis GET of a 700-byte value, the ways a request can read it: the synchronous client
(as a worker thread does, before the thread hop's own cost), redis-py's asyncio client, and the
event loop's reader (idp.storage.ephemeral.loop_reader), sequential and 50 at a time.

    .venv/bin/python bench/experiments/redis_on_loop.py   # Redis on 127.0.0.1:6379
"""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio as aredis
import uvloop

from idp.storage.ephemeral.loop_reader import LoopReader

URL = "redis://127.0.0.1:6379/0"
KEY = "vnidp-experiment:value"
CALLS = 10_000


def sync_get() -> float:
    client = redis.Redis.from_url(URL, single_connection_client=True)
    started = time.process_time()
    for _ in range(CALLS):
        client.get(KEY)
    return (time.process_time() - started) / CALLS * 1e6


async def async_gets() -> dict[str, float]:
    results = {}
    client = aredis.Redis.from_url(URL, single_connection_client=True)
    await client.get(KEY)
    started = time.process_time()
    for _ in range(CALLS):
        await client.get(KEY)
    results["redis.asyncio"] = (time.process_time() - started) / CALLS * 1e6
    await client.aclose()
    reader = LoopReader.for_pool(redis.Redis.from_url(URL).connection_pool)
    assert reader is not None
    await reader.get(KEY)
    started = time.process_time()
    for _ in range(CALLS):
        await reader.get(KEY)
    results["loop reader"] = (time.process_time() - started) / CALLS * 1e6
    started = time.process_time()
    for _ in range(CALLS // 50):
        await asyncio.gather(*(reader.get(KEY) for _ in range(50)))
    results["loop reader, 50 at a time"] = (time.process_time() - started) / CALLS * 1e6
    await reader.close_on_loop()
    return results


def main() -> None:
    redis.Redis.from_url(URL).set(KEY, b"x" * 700)
    for _ in range(3):
        line = {"sync client": sync_get(), **uvloop.run(async_gets())}
        print(", ".join(f"{name} {cpu:5.1f} µs" for name, cpu in line.items()))
    redis.Redis.from_url(URL).delete(KEY)


if __name__ == "__main__":
    main()

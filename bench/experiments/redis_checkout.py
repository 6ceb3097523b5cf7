"""CPU per Redis command: through redis-py's pool (a checkout per command: a lock, bookkeeping and a
``poll`` for stray data) against a connection the thread keeps (``RedisStore``'s way since the
third round of bench/PROFILE.md).

    .venv/bin/python bench/experiments/redis_checkout.py   # Redis on 127.0.0.1:6379, DB 9
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

CALLS = 20_000
URL = "redis://127.0.0.1:6379/9"


def cpu_per_call(call: Callable[[], object]) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        call()
    return (time.process_time() - started) / CALLS * 1e6


def main() -> None:
    options = {"socket_timeout": 2, "socket_connect_timeout": 2, "health_check_interval": 30}
    pooled = redis.Redis.from_url(URL, max_connections=128, **options)  # type: ignore[arg-type]
    kept = redis.Redis(connection_pool=pooled.connection_pool, single_connection_client=True)
    pooled.set("bench:checkout", b"x" * 700, ex=60)
    for _ in range(3):
        through_pool = cpu_per_call(lambda: pooled.get("bench:checkout"))
        own = cpu_per_call(lambda: kept.get("bench:checkout"))
        print(f"GET of 700 B: pool checkout per command {through_pool:5.1f} µs CPU, kept connection {own:5.1f} µs CPU")
    pooled.delete("bench:checkout")


if __name__ == "__main__":
    main()

"""CPU per store call behind two fixes of bench/PROFILE.md (second round):

- a Redis record with its grant index: the four-command MULTI against the one-script call that
  ``RedisStore.upsert`` makes now, and a plain GET for scale;
- a lookup by key: a statement built per call against one built once with a bound parameter.

    .venv/bin/python bench/experiments/store_calls.py   # Redis on 127.0.0.1:6379, DB 9; SQLite file in a temp dir
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from sqlalchemy import bindparam, select

from idp.storage.db import build_engine
from idp.storage.ephemeral.redis import RedisStore
from idp.storage.schema import metadata, subjects

CALLS = 3000
RECORD = {"client_id": "rp", "scopes": ["openid"], "grant_id": "g", "claims": {}, "userinfo": {"name": "A" * 50}}


def cpu_per_call(name: str, call: Callable[[int], object]) -> None:
    started = time.process_time()
    for i in range(CALLS):
        call(i)
    print(f"{name:34} {(time.process_time() - started) / CALLS * 1e6:6.1f} µs of CPU per call")


def redis_calls() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/9")
    store = RedisStore(client, prefix="vnidp-experiment:")

    def multi(i: int) -> None:
        pipe = client.pipeline(transaction=True)
        key, index = f"vnidp-experiment:at:m{i}", "vnidp-experiment:grant:gm"
        pipe.set(key, json.dumps(RECORD), ex=60)
        pipe.sadd(index, key)
        pipe.expire(index, 60, gt=True)
        pipe.expire(index, 60, nx=True)
        pipe.execute()

    try:
        for _ in range(2):
            cpu_per_call("Redis record, MULTI of four", multi)
            cpu_per_call("Redis record, one script", lambda i: store.upsert("at", f"s{i}", RECORD, 60, grant_id="gs"))
            cpu_per_call("Redis GET", lambda i: store.find("at", f"s{i}"))
    finally:
        keys = list(client.scan_iter(match="vnidp-experiment:*", count=1000))
        if keys:
            client.delete(*keys)


def sql_calls() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = build_engine(f"sqlite:///{Path(folder) / 'experiment.db'}")
        metadata.create_all(engine)
        prebuilt = select(subjects).where(subjects.c.id == bindparam("v"))

        def built(i: int) -> None:
            with engine.connect() as conn:
                conn.execute(select(subjects).where(subjects.c.id == f"s{i}")).mappings().first()

        def bound(i: int) -> None:
            with engine.connect() as conn:
                conn.execute(prebuilt, {"v": f"s{i}"}).mappings().first()

        for _ in range(2):
            cpu_per_call("lookup, statement built per call", built)
            cpu_per_call("lookup, statement built once", bound)
        engine.dispose()


if __name__ == "__main__":
    redis_calls()
    sql_calls()

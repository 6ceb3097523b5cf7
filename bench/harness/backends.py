"""The benchmark's own PostgreSQL database and Redis key space, and what they hold per sign-in.

PostgreSQL: a fresh database per run (dropped at the end); writes are read from
``pg_stat_database`` of that database only (tuples inserted + updated + deleted, commits).
Statistics reach the view up to a second late, so a reading waits for them to settle.
Redis: a DB index chosen empty at start, and a key prefix of the run; every key of the prefix is
removed at the end. ``MEMORY USAGE`` of each key left after the sign-ins gives bytes per session.

``server_pid`` of each names the process whose CPU the whole-system figures add to a server's own
(PostgreSQL's postmaster, whose tree holds every backend and the WAL writer, checkpointer and
background writer; the Redis server). Both are shared with whatever else uses them: the
whole-system figures hold on a machine where nothing else does during the run.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class PgCounters:
    commits: int
    tuples_written: int  # inserted + updated + deleted
    sessions: int  # connections opened to the database (pool churn shows here)


@dataclass
class BenchDatabase:
    name: str
    admin_url: str = ADMIN_URL

    @property
    def url(self) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + self.name

    @classmethod
    def create(cls, name: str, admin_url: str = ADMIN_URL) -> BenchDatabase:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError("database name must be a plain lower-case identifier")
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return cls(name, admin_url)

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def counters(self, settle: float = 1.2) -> PgCounters:
        """Counters of the bench database, read from the admin database (so reading adds nothing)."""
        time.sleep(settle)  # backends flush their statistics at most once a second
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, sessions"
                " FROM pg_stat_database WHERE datname = %s",
                (self.name,),
            ).fetchone()
        assert row is not None
        return PgCounters(int(row[0]), int(row[1]), int(row[2]))

    def server_pid(self) -> int:
        """The postmaster's pid: the parent of a backend serving this connection."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            return parent_pid(int(row[0]))  # while the backend lives

    def table_writes(self) -> dict[str, int]:
        """Tuples written per table (a breakdown for the report)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables").fetchall()
        return {name: int(count) for name, count in rows}


@dataclass
class BenchRedis:
    index: int
    prefix: str
    host: str = "127.0.0.1"
    port: int = 6379

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.index}"

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=self.index)

    @classmethod
    def choose(cls, prefix: str, candidates: range = range(15, 7, -1)) -> BenchRedis:
        """The highest-numbered empty DB index among ``candidates`` (tests use index 0)."""
        for index in candidates:
            if redis.Redis(host="127.0.0.1", port=6379, db=index).dbsize() == 0:
                return cls(index, prefix)
        raise RuntimeError("no empty Redis DB index among 8-15")

    def server_pid(self) -> int:
        """The Redis server's pid (``INFO server``)."""
        return int(self.client().info("server")["process_id"])

    def keys(self) -> list[bytes]:
        return list(self.client().scan_iter(match=self.prefix + "*", count=1000))

    def usage_by_family(self) -> dict[str, tuple[int, int]]:
        """Key family (the key with its random parts replaced by ``*``) -> (keys, bytes)."""
        client = self.client()
        families: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for key in self.keys():
            size = client.memory_usage(key, samples=0) or 0
            family = key_family(key.decode("utf-8", "replace"))
            families[family][0] += 1
            families[family][1] += int(size)
        return {name: (count, size) for name, (count, size) in families.items()}

    def clear(self) -> None:
        client = self.client()
        keys = self.keys()
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def key_family(key: str) -> str:
    """``idp:session:Abc123...`` -> ``idp:session:*`` (segments that look random become ``*``)."""
    parts = key.split(":")
    return ":".join("*" if len(part) >= 16 or re.fullmatch(r"[0-9a-f-]{8,}", part) else part for part in parts)

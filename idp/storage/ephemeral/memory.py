"""In-process ephemeral store for the embedded default (one process; state is lost on restart)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from typing import Any


class MemoryStore:
    """A dict with expiry times behind one lock."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], tuple[float, Any, str | None]] = {}
        self._by_grant: dict[str, set[tuple[str, str]]] = {}
        self._writes = 0

    def _live(self, key: tuple[str, str]) -> tuple[float, Any, str | None] | None:
        entry = self._records.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(key)
            return None
        return entry

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._records.pop(key, None)
        if entry and entry[2] is not None:
            members = self._by_grant.get(entry[2])
            if members is not None:
                members.discard(key)
                if not members:
                    del self._by_grant[entry[2]]

    def _sweep(self) -> None:
        self._writes += 1
        if self._writes % 1024:
            return
        now = self._clock()
        for key in [k for k, v in self._records.items() if v[0] <= now]:
            self._drop(key)

    def upsert(self, kind: str, id: str, value: dict[str, Any], ttl: int, *, grant_id: str | None = None) -> None:
        key = (kind, id)
        with self._lock:
            self._sweep()
            self._drop(key)
            self._records[key] = (self._clock() + ttl, copy.deepcopy(value), grant_id)
            if grant_id is not None:
                self._by_grant.setdefault(grant_id, set()).add(key)

    async def find_on_loop(self, kind: str, id: str) -> dict[str, Any] | None:
        return self.find(kind, id)  # no I/O: a dictionary behind a lock held for microseconds

    async def close_on_loop(self) -> None:
        """Nothing to close: no connection."""

    def find(self, kind: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._live((kind, id))
            return copy.deepcopy(entry[1]) if entry else None

    def consume(self, kind: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._live((kind, id))
            if entry is None:
                return None
            self._drop((kind, id))
            record: dict[str, Any] = entry[1]
            return record

    def destroy(self, kind: str, id: str) -> None:
        with self._lock:
            self._drop((kind, id))

    def find_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        return [self.find(kind, id) for kind, id in keys]

    def destroy_many(self, keys: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    def consume_marking(self, kind: str, id: str, *, marker_kind: str, keep: str, marker_ttl: int
                        ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        with self._lock:
            entry = self._live((kind, id))
            if entry is None:
                marker = self._live((marker_kind, id))
                return None, copy.deepcopy(marker[1]) if marker else None
            self._drop((kind, id))
            self._sweep()
            self._records[(marker_kind, id)] = (self._clock() + marker_ttl, {keep: entry[1][keep]}, None)
            return entry[1], None

    def revoke_by_grant(self, grant_id: str) -> int:
        with self._lock:
            keys = list(self._by_grant.get(grant_id, ()))
            live = [k for k in keys if self._live(k) is not None]
            for key in keys:
                self._drop(key)
            return len(live)

    def consume_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            keys = list(self._by_grant.get(grant_id, ()))
            live = [entry[1] for key in keys if (entry := self._live(key)) is not None]
            for key in keys:
                self._drop(key)
            return live

    def find_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            keys = list(self._by_grant.get(grant_id, ()))
            return [copy.deepcopy(entry[1]) for key in keys if (entry := self._live(key)) is not None]

    def add_once(self, kind: str, id: str, ttl: int) -> bool:
        with self._lock:
            self._sweep()
            if self._live((kind, id)) is not None:
                return False
            self._records[(kind, id)] = (self._clock() + ttl, True, None)
            return True

    def increment(self, kind: str, id: str, ttl: int) -> int:
        with self._lock:
            self._sweep()
            entry = self._live((kind, id))
            expires, count = (entry[0], entry[1] + 1) if entry else (self._clock() + ttl, 1)
            self._records[(kind, id)] = (expires, count, None)
            return int(count)

    def ping(self) -> None:
        return None

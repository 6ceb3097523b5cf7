"""Client lookup with a cache of a few seconds: token requests would otherwise read the client
from the database each time."""

from __future__ import annotations

import threading
import time

from idp.clients.metadata import is_disabled
from idp.storage.models import Client
from idp.storage.protocols import ClientStore
from idp.web import request_scope

CLIENT_CACHE_SECONDS = 5.0
MAX_CACHED = 10_000


class ClientDirectory:
    def __init__(self, clients: ClientStore) -> None:
        self._repository = clients
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self._reader = threading.Lock()  # one re-read of an expired client at a time

    def find_client(self, client_id: str | None) -> Client | None:
        """The client (None when unknown, disabled or the id is malformed).

        When a cached copy has just expired, one request re-reads it while the others keep using
        that copy for at most one more period: without this, every concurrent request misses at
        once and each opens its own database connection. On the event loop a cached copy is used
        even just past its period (nothing may block there)."""
        if not client_id or len(client_id) > 255:
            return None
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached and (cached[0] > now or request_scope.answered_on_loop()):
            return cached[1]
        stale_usable = cached is not None and cached[0] + CLIENT_CACHE_SECONDS > now
        if stale_usable and not self._reader.acquire(blocking=False):
            return cached[1]  # type: ignore[index]
        try:
            client = self._repository.get(client_id)
            if client is not None and is_disabled(client.extra):  # disabled by an administrator
                client = None
            if len(self._clients) > MAX_CACHED:
                self._clients.clear()
            self._clients[client_id] = (time.monotonic() + CLIENT_CACHE_SECONDS, client)
            return client
        finally:
            if stale_usable:
                self._reader.release()

    def cached_client(self, client_id: str | None) -> Client | None:
        """The client if a fresh copy is cached (no I/O), else None."""
        cached = self._clients.get(client_id) if client_id else None
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def forget_client(self, client_id: str) -> None:
        """Drop the cached copy after the client changed (registration update, removal)."""
        self._clients.pop(client_id, None)

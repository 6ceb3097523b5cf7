"""The ephemeral-store protocol: five verbs in the style of node-oidc-provider's adapter,
the two counters that replay caches and throttles need, and three batch verbs that save round
trips on the hot paths (several reads or removals at once; a consumption that leaves a marker).

Records are JSON objects addressed by ``(kind, id)``; every record has a TTL in seconds. A record
may name the grant it belongs to, so revoking a grant destroys everything issued under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol


class EphemeralStore(Protocol):
    def upsert(self, kind: str, id: str, value: dict[str, Any], ttl: int, *, grant_id: str | None = None) -> None:
        """Create or replace the record; it disappears after ``ttl`` seconds."""

    def find(self, kind: str, id: str) -> dict[str, Any] | None:
        """The record, or None when absent or expired."""

    def consume(self, kind: str, id: str) -> dict[str, Any] | None:
        """Remove and return the record atomically: of N concurrent callers exactly one gets it."""

    def destroy(self, kind: str, id: str) -> None:
        """Remove the record if present."""

    def find_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """``find`` of each ``(kind, id)``, in order, in one round trip."""

    def destroy_many(self, keys: Sequence[tuple[str, str]]) -> None:
        """``destroy`` of each ``(kind, id)`` in one round trip."""

    async def find_on_loop(self, kind: str, id: str) -> dict[str, Any] | None:
        """:meth:`find`, awaited on the event loop without blocking it (for the hot reads of
        ``/userinfo`` and ``/introspect``)."""

    async def close_on_loop(self) -> None:
        """Close what :meth:`find_on_loop` opened on the running loop (before the loop ends)."""

    def consume_marking(self, kind: str, id: str, *, marker_kind: str, keep: str, marker_ttl: int
                        ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Consume the record and, atomically with it, leave a marker ``{keep: record[keep]}`` under
        ``(marker_kind, id)`` for ``marker_ttl`` seconds: ``(record, None)``. When the record is
        gone, ``(None, marker)`` with the marker a previous consumption left (or None). Single-use
        values that must recognise their replay (authorization codes) need nothing else.
        ``record[keep]`` must be a string."""

    def revoke_by_grant(self, grant_id: str) -> int:
        """Remove every record stored with ``grant_id``; return how many were removed."""

    def consume_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        """Remove every record stored with ``grant_id`` and return the live ones (an administrator
        ending every session of a person reads them to revoke their grants and tell the clients)."""

    def find_by_grant(self, grant_id: str) -> list[dict[str, Any]]:
        """The live records stored with ``grant_id``, left in place (a person's export of their
        data reads their sessions)."""

    def add_once(self, kind: str, id: str, ttl: int) -> bool:
        """Remember ``id`` for ``ttl`` seconds; True only for the first caller (replay caches)."""

    def increment(self, kind: str, id: str, ttl: int) -> int:
        """Add one to a counter that expires ``ttl`` seconds after its first increment."""

    def ping(self) -> None:
        """Raise if the store cannot answer."""


def shallow_record(instance: Any) -> dict[str, Any]:
    """A dataclass instance's fields as a record for :meth:`EphemeralStore.upsert`, without
    ``dataclasses.asdict``'s recursive deep copy (20-30 µs a session record): stores serialise or
    copy what they keep, so sharing the nested values here is safe."""
    return {field.name: getattr(instance, field.name) for field in dataclasses.fields(instance)}

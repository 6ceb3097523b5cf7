"""The ephemeral-store protocol: five verbs in the style of node-oidc-provider's adapter,
plus the two counters that replay caches and throttles need.

Records are JSON objects addressed by ``(kind, id)``; every record has a TTL in seconds. A record
may name the grant it belongs to, so revoking a grant destroys everything issued under it.
"""

from __future__ import annotations

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

    def revoke_by_grant(self, grant_id: str) -> int:
        """Remove every record stored with ``grant_id``; return how many were removed."""

    def add_once(self, kind: str, id: str, ttl: int) -> bool:
        """Remember ``id`` for ``ttl`` seconds; True only for the first caller (replay caches)."""

    def increment(self, kind: str, id: str, ttl: int) -> int:
        """Add one to a counter that expires ``ttl`` seconds after its first increment."""

    def ping(self) -> None:
        """Raise if the store cannot answer."""

"""Signed checkpoints of the hash chain.

A checkpoint is a JWT signed by the provider's current signing key (through the keys package's
``Signer``) whose claims bind a sequence number to the chain hash at that point:
``{"iss", "iat", "purpose": "audit-checkpoint", "audit_seq", "audit_hash"}``. Rewriting events up
to a checkpoint and recomputing every later hash is then detected, because the rewritten hash no
longer matches a signature made with a key pinned outside the database (the key store, or a trust
file: see :mod:`idp.audit.trust`); a key added to ``signing_keys`` does not count.

Where a checkpoint is stored:
- the periodic one, every ``checkpoint_interval`` events, in the ``checkpoint`` column of the event
  row it signs (written with that row: no write of its own; the column is outside the hashed fields);
- one signed on demand (``idp audit checkpoint``) or as the anchor of a pruned log, in a row of
  ``audit_checkpoints`` (a pruned log has lost the event rows before its horizon, so its anchor must
  live apart). :func:`stored_checkpoints` reads both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from idp.storage.schema import audit_checkpoints, audit_events

PURPOSE = "audit-checkpoint"

Sign = Callable[[dict[str, Any]], str]
Verify = Callable[[str], dict[str, Any]]


class Checkpointer:
    """Writes signed checkpoints; ``sign(claims) -> compact JWS``."""

    def __init__(self, sign: Sign, *, issuer: str | None = None) -> None:
        self.sign = sign
        self.issuer = issuer

    def claims(self, seq: int, chain_hash: str, now: datetime) -> dict[str, Any]:
        claims: dict[str, Any] = {"purpose": PURPOSE, "audit_seq": seq, "audit_hash": chain_hash,
                                  "iat": int(now.timestamp())}
        if self.issuer:
            claims["iss"] = self.issuer
        return claims

    def signature(self, seq: int, chain_hash: str, now: datetime) -> str:
        """The signed checkpoint (compact JWS) of the chain at ``seq`` with hash ``chain_hash``."""
        return self.sign(self.claims(seq, chain_hash, now))

    def write(self, conn: Connection, seq: int, chain_hash: str) -> None:
        """Sign and store a checkpoint of ``seq`` in ``audit_checkpoints`` (in the caller's
        transaction); idempotent per seq."""
        exists = conn.execute(select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)).first()
        if exists:
            return
        now = datetime.now(UTC)
        conn.execute(audit_checkpoints.insert().values(seq=seq, hash=chain_hash, created_at=now,
                                                       signature=self.signature(seq, chain_hash, now)))


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as stored: in its own row (``in_event_row`` False) or in its event's row."""

    seq: int
    hash: str
    signature: str
    in_event_row: bool


def stored_checkpoints(conn: Connection, *, after: int = 0, through: int | None = None) -> list[StoredCheckpoint]:
    """Every stored checkpoint with ``after < seq <= through``, in both places, by seq (a seq with
    both appears twice: each is checked)."""
    table, events = audit_checkpoints.c, audit_events.c
    own = select(table.seq, table.hash, table.signature).where(table.seq > after)
    in_rows = select(events.seq, events.hash, events.checkpoint).where(events.checkpoint.is_not(None),
                                                                       events.seq > after)
    if through is not None:
        own, in_rows = own.where(table.seq <= through), in_rows.where(events.seq <= through)
    found = [StoredCheckpoint(int(r[0]), str(r[1]), str(r[2]), False) for r in conn.execute(own)]
    found += [StoredCheckpoint(int(r[0]), str(r[1]), str(r[2]), True) for r in conn.execute(in_rows)]
    return sorted(found, key=lambda cp: (cp.seq, cp.in_event_row))


def keyring_checkpointer(ring: Any, *, issuer: str | None = None) -> Checkpointer:
    """A checkpointer signing with ``ring.signer()`` through ``keys.jwt.encode_jwt``."""
    from keys.jwt import encode_jwt

    return Checkpointer(lambda claims: encode_jwt(ring.signer(), claims), issuer=issuer)


def check_claims(claims: dict[str, Any], seq: int, chain_hash: str) -> str | None:
    """Why verified checkpoint claims do not match the stored checkpoint, or None when they do."""
    if claims.get("purpose") != PURPOSE:
        return "not an audit checkpoint"
    if claims.get("audit_seq") != seq:
        return f"signed for seq {claims.get('audit_seq')!r}"
    if claims.get("audit_hash") != chain_hash:
        return "signed for a different chain hash"
    return None

"""Signed checkpoints of the hash chain.

A checkpoint is a JWT signed by the provider's current signing key (through the keys package's
``Signer``) whose claims bind a sequence number to the chain hash at that point:
``{"iss", "iat", "purpose": "audit-checkpoint", "audit_seq", "audit_hash"}``. Rewriting events up
to a checkpoint and recomputing every later hash is then detected, because the rewritten hash no
longer matches a signature made with a key the database does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from idp.storage.schema import audit_checkpoints

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

    def write(self, conn: Connection, seq: int, chain_hash: str) -> None:
        """Sign and store a checkpoint of ``seq`` (in the caller's transaction); idempotent per seq."""
        exists = conn.execute(select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)).first()
        if exists:
            return
        now = datetime.now(UTC)
        token = self.sign(self.claims(seq, chain_hash, now))
        conn.execute(audit_checkpoints.insert().values(seq=seq, hash=chain_hash, signature=token,
                                                       created_at=now))


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

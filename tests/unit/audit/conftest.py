"""Fixtures of the audit tests: a software signing key for checkpoints, tamper helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import text

from idp.audit.checkpoints import Checkpointer
from idp.audit.events import AuditContext, AuditEvent
from idp.audit.signatures import PublicKeyVerifier
from idp.audit.sql import SqlAuditLog
from idp.storage.sql import SqlStorage


@dataclass
class CheckpointKey:
    key: ECKey
    kid: str

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims, self.key)

    @property
    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": "ES256", "use": "sig"}

    def verifier(self) -> PublicKeyVerifier:
        return PublicKeyVerifier([self.public_jwk])


@pytest.fixture(scope="session")
def checkpoint_key() -> CheckpointKey:
    return CheckpointKey(ECKey.generate_key("P-256"), "audit-test-1")


@pytest.fixture
def audit_log(storage: SqlStorage, checkpoint_key: CheckpointKey) -> SqlAuditLog:
    """An audit log over each database, signing a checkpoint every 4 events."""
    return SqlAuditLog(storage.db, checkpointer=Checkpointer(checkpoint_key.sign, issuer="http://127.0.0.1"),
                       checkpoint_interval=4)


def signin(n: int, **kwargs: Any) -> AuditEvent:
    """A sign-in event of user ``u<n>``."""
    ctx = AuditContext(ip="203.0.113.7", user_agent="Mozilla/5.0", request_id=f"r{n}", session_id=f"s{n}")
    return AuditEvent(type="signin", username=f"u{n}", client_id="portal", amr=("pwd",), context=ctx,
                      **kwargs)


def execute(storage: SqlStorage, sql: str, **params: Any) -> None:
    """Tamper with the database directly, as an attacker with database access would."""
    with storage.db.transaction() as conn:
        conn.execute(text(sql), params)

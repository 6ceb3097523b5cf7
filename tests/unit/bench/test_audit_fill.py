"""The bench's bulk fill of the audit log (bench/harness/audit_fill.py) builds a chain that
``idp audit verify``'s walk accepts whole, signed checkpoints included, and the provider's next
ordinary event continues it: a benchmark over a broken or unsigned chain would measure nothing."""

from __future__ import annotations

from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from bench.harness.audit_fill import fill_audit_events
from idp.audit.checkpoints import Checkpointer
from idp.audit.events import AuditEvent
from idp.audit.signatures import PublicKeyVerifier
from idp.audit.sql import SqlAuditLog
from idp.audit.verify import verify_chain
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage


def test_filled_events_verify_with_their_checkpoints_and_the_chain_goes_on(pg_storage: SqlStorage) -> None:
    key = ECKey.generate_key("P-256")
    public = {**key.as_dict(private=False), "kid": "bench-fill", "alg": "ES256", "use": "sig"}

    def sign(claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "ES256", "kid": "bench-fill", "typ": "JWT"}, claims, key)

    log = SqlAuditLog(pg_storage.db, checkpointer=Checkpointer(sign), checkpoint_interval=100)
    log.record(AuditEvent(type="key.generated"))  # the chain does not start empty
    last = fill_audit_events(log, 450)
    log.record(AuditEvent(type="signin", username="after-the-fill"))

    report = verify_chain(pg_storage.db, PublicKeyVerifier([public]), batch=64)
    assert report.ok, report.problem
    assert (report.events, report.last_seq, report.checkpoints) == (453, 453, 4)  # at 100, 200, 300, 400
    assert last == 452
    with pg_storage.db.connect() as conn:
        kinds = conn.execute(select(audit_events.c.type, func.count()).group_by(audit_events.c.type)).all()
    assert {kind for kind, _ in kinds} >= {"signin", "code.issued", "token.issued", "token.refreshed"}

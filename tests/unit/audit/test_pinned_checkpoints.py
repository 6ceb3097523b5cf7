"""Pinned checkpoint keys (``idp.audit.trust``) and the SIEM's copy of the checkpoints
(``idp.audit.external``), on each database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from idp.audit.external import ExternalCheckpoint, ExternalCopyInvalid, read_external_copy
from idp.audit.forwarding import with_checkpoints
from idp.audit.prune import prune_before
from idp.audit.query import event_json
from idp.audit.siem import syslog_message
from idp.audit.signatures import SignatureInvalid
from idp.audit.sql import SqlAuditLog
from idp.audit.trust import PinnedVerifier, TrustedKey
from idp.audit.verify import verify_chain
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import CheckpointKey, execute, signin

NOW = datetime.now(UTC)


def pinned(key: CheckpointKey, **window: datetime) -> PinnedVerifier:
    return PinnedVerifier([TrustedKey(key.public_jwk, **window)], source="the trust file",
                          database_kids=[key.kid, "added-by-a-writer"])


def claims(when: datetime) -> dict:
    return {"purpose": "audit-checkpoint", "audit_seq": 4, "audit_hash": "ab" * 32, "iat": int(when.timestamp())}


def test_a_checkpoint_outside_its_key_s_lifetime_is_refused(checkpoint_key: CheckpointKey) -> None:
    verify = pinned(checkpoint_key, not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
    assert verify(checkpoint_key.sign(claims(NOW - timedelta(days=2))))["audit_seq"] == 4
    with pytest.raises(SignatureInvalid, match="after key audit-test-1 stopped signing"):
        verify(checkpoint_key.sign(claims(NOW)))
    with pytest.raises(SignatureInvalid, match="before key audit-test-1 existed"):
        verify(checkpoint_key.sign(claims(NOW - timedelta(days=31))))


def test_a_key_only_the_database_holds_is_named(checkpoint_key: CheckpointKey) -> None:
    writer = CheckpointKey(ECKey.generate_key("P-256"), "added-by-a-writer")
    with pytest.raises(SignatureInvalid, match="'added-by-a-writer', which the database holds but the trust file "
                                               "does not pin"):
        pinned(checkpoint_key)(writer.sign(claims(NOW)))
    stranger = CheckpointKey(ECKey.generate_key("P-256"), "nowhere")
    with pytest.raises(SignatureInvalid, match="'nowhere', unknown to the trust file"):
        pinned(checkpoint_key)(stranger.sign(claims(NOW)))


def test_the_copy_is_read_in_every_siem_line_form(audit_log: SqlAuditLog, tmp_path: Path) -> None:
    rows = [audit_log.append(signin(n)) for n in range(4)]
    with audit_log.db.connect() as conn:
        messages = with_checkpoints(conn, rows)
    assert [m["type"] for m in messages] == ["signin"] * 4 + ["audit.checkpoint"]
    checkpoint = messages[-1]
    assert checkpoint["seq"] == 4 and checkpoint["hash"] == rows[-1]["hash"]
    syslog = syslog_message(checkpoint, hostname="siem").decode("utf-8")
    copy = tmp_path / "siem.log"
    copy.write_text("\n".join([
        "not a message", syslog, f"{len(syslog.encode())} {syslog}", json.dumps(checkpoint),
        json.dumps({"events": [event_json(rows[0]), checkpoint]}), syslog_message(messages[0]).decode()]) + "\n",
        encoding="utf-8")
    found = read_external_copy(copy)
    assert [(cp.seq, cp.hash, cp.line) for cp in found] == [(4, rows[-1]["hash"], n) for n in (2, 3, 4, 5)]

    copy.write_text(syslog_message(messages[0]).decode() + "\n", encoding="utf-8")
    with pytest.raises(ExternalCopyInvalid, match="no signed checkpoint found"):
        read_external_copy(copy)


def test_a_prune_sends_its_anchor_after_its_event(audit_log: SqlAuditLog, storage: SqlStorage) -> None:
    for n in range(6):
        audit_log.append(signin(n))
    execute(storage, "UPDATE audit_events SET occurred_at = :t WHERE seq <= 5", t=NOW - timedelta(days=400))
    assert prune_before(audit_log, NOW - timedelta(days=365)).through_seq == 5
    with storage.db.connect() as conn:
        rows = conn.execute(audit_events.select().order_by(audit_events.c.seq)).mappings().all()
        messages = with_checkpoints(conn, rows)
    assert [(m["type"], m["seq"]) for m in messages] == [
        ("signin", 6), ("admin.action", 7), ("audit.checkpoint", 5)]


def test_verify_compares_with_the_copy(audit_log: SqlAuditLog, storage: SqlStorage,
                                       checkpoint_key: CheckpointKey) -> None:
    rows = [audit_log.append(signin(n)) for n in range(9)]
    copy = [ExternalCheckpoint(r["seq"], r["hash"], r["checkpoint"], n) for n, r in enumerate(rows) if r["checkpoint"]]
    report = verify_chain(storage.db, checkpoint_key.verifier(), copy)
    assert report.ok and report.external_checked == 2

    execute(storage, "DELETE FROM audit_events WHERE seq >= 8")  # the head row lags: only the copy tells
    execute(storage, "UPDATE audit_chain SET last_seq = 7, last_hash = :h", h=rows[6]["hash"])
    assert verify_chain(storage.db, checkpoint_key.verifier()).ok
    problem = verify_chain(storage.db, checkpoint_key.verifier(), copy).problem
    assert problem is not None and (problem.seq, problem.kind) == (8, "removed")
    assert "checkpoint 8 of the external copy is missing" in problem.reason

    forged = [ExternalCheckpoint(4, rows[3]["hash"], copy[1].signature, 7)]  # checkpoint 8's signature
    with pytest.raises(ExternalCopyInvalid, match="line 7, checkpoint 4: signed for seq 8"):
        verify_chain(storage.db, checkpoint_key.verifier(), forged)

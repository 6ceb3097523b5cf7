"""``idp audit verify`` trusts only keys pinned outside the database, on SQLite and PostgreSQL.

The attacker here is a *database writer*: they can change any row (add a signing key of their own,
rewrite events, recompute the chain, re-sign checkpoints, delete and rebuild the tail) but hold
neither the KEK nor the HSM, nor the SIEM's copy, nor the trust file security staff keep.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from idp.audit.chain import GENESIS, row_hash
from idp.audit.checkpoints import Checkpointer
from idp.audit.events import AuditEvent
from idp.audit.forwarding import AuditForwarder
from idp.audit.setup import attach_key_ring, open_audit_log
from idp.audit.siem import SyslogTcpSender
from idp.runtime import open_storage
from idp.settings import load_settings
from idp.storage.schema import audit_chain, audit_checkpoints, audit_events, signing_keys
from keys import software
from keys.jwt import encode_jwt
from keys.ring import open_key_ring
from tests.functional import test_audit_cli
from tests.functional.test_audit_cli import Result
from tests.unit.audit.test_forwarding import TcpSyslogServer, wait_for

idp = test_audit_cli.idp  # ``idp`` in this process, with the environment of ``env`` below


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    values = {"IDP_DATA_DIR": str(tmp_path / "var"), "IDP_AUDIT_CHECKPOINT_INTERVAL": "4",
              "IDP_AUDIT_HEAD_INTERVAL_SECONDS": "0"}
    if request.param == "postgresql":
        values |= {"IDP_DATABASE_URL": request.getfixturevalue("postgres_url"), "IDP_AUTO_MIGRATE": "true"}
    else:
        values["IDP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'var' / 'idp.sqlite3'}"
    return values


def record_signed(count: int) -> None:
    """Sign-ins recorded by the provider, its key ring signing the periodic checkpoints."""
    settings = load_settings()
    storage = open_storage(settings)
    try:
        log = open_audit_log(settings, storage.db)
        ring = open_key_ring(settings, storage, log)
        attach_key_ring(log, ring, settings)
        for n in range(count):
            log.record(AuditEvent(type="signin", username=f"u{n}", client_id="portal"))
        ring.close()
    finally:
        storage.close()


def forge(*, replace_key: bool = False) -> str:
    """The database writer's forgery: a key of their own in ``signing_keys`` (a new row, or the
    current key's row with their public key in it), event 2 rewritten, every hash after it
    recomputed, every checkpoint re-signed and the head moved. Returns the kid they sign with."""
    attacker = software.generate("ES256")
    signing_kid = signed_checkpoints()[0][1]  # the key that signs the checkpoints (an ES256 key)
    settings = load_settings()
    storage = open_storage(settings)
    try:
        with storage.db.transaction() as conn:
            if replace_key:
                jwk = {**attacker.public_jwk(), "kid": signing_kid}
                conn.execute(update(signing_keys).where(signing_keys.c.kid == signing_kid).values(public_jwk=jwk))
                attacker = software.SoftwareSigner(attacker._private_key, "ES256", signing_kid)
            else:
                conn.execute(signing_keys.insert().values(
                    kid=attacker.kid, alg="ES256", backend="software", state="withdrawn",
                    public_jwk=attacker.public_jwk(), private_key_enc=b"\x01" + secrets.token_bytes(60),
                    created_at=datetime(2020, 1, 1, tzinfo=UTC), retired_at=datetime.now(UTC), version=1))
        sign = Checkpointer(lambda claims: encode_jwt(attacker, claims), issuer=settings.issuer)
        now = datetime.now(UTC)
        with storage.db.transaction() as conn:
            rows = [dict(r) for r in conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()]
            hashes, prev = {}, GENESIS
            for row in rows:
                if row["seq"] == 2:
                    row["username"] = "ke-gia-mao"
                row["prev_hash"] = prev
                row["hash"] = prev = hashes[row["seq"]] = row_hash(row)
                if row["checkpoint"] is not None:
                    row["checkpoint"] = sign.signature(row["seq"], row["hash"], now)
                conn.execute(update(audit_events).where(audit_events.c.seq == row["seq"]).values(
                    username=row["username"], prev_hash=row["prev_hash"], hash=row["hash"],
                    checkpoint=row["checkpoint"]))
            for seq in conn.execute(select(audit_checkpoints.c.seq)).scalars().all():
                conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq == seq).values(
                    hash=hashes[seq], signature=sign.signature(seq, hashes[seq], now)))
            head = conn.execute(select(audit_chain.c.last_seq)).scalar_one()
            conn.execute(update(audit_chain).values(last_hash=hashes[head]))
    finally:
        storage.close()
    return attacker.kid


def assert_refused(result: Result, *fragments: str) -> None:
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("idp: nhật ký kiểm toán") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.parametrize("replace_key", [False, True], ids=["key-row-added", "public-key-replaced"])
def test_a_database_writer_cannot_re_sign_the_checkpoints(idp: Callable[..., Result], replace_key: bool) -> None:
    record_signed(10)
    assert idp(["audit", "verify"]).returncode == 0
    first = min(signed_seqs())
    kid = forge(replace_key=replace_key)

    result = idp(["audit", "verify"])
    # The first checkpoint after the rewritten event 2 is the first bad one; verify names it.
    assert_refused(result, f"checkpoint {first}: signature invalid", "audit log altered at seq 1")
    if not replace_key:
        assert f"signed with key {kid!r}, which the database holds but the key store does not pin" in result.stderr


def test_an_unused_key_only_the_database_holds_is_warned_about(idp: Callable[..., Result]) -> None:
    record_signed(5)
    stranger = software.generate("ES256")
    storage = open_storage(load_settings())
    try:
        with storage.db.transaction() as conn:
            conn.execute(signing_keys.insert().values(
                kid=stranger.kid, alg="ES256", backend="software", state="withdrawn",
                public_jwk=stranger.public_jwk(), private_key_enc=b"\x01" + secrets.token_bytes(60),
                created_at=datetime.now(UTC), version=1))
    finally:
        storage.close()
    result = idp(["audit", "verify"])
    assert result.returncode == 0, result.stderr  # it signed nothing: the trail itself is intact
    assert result.stderr == (f"idp: cảnh báo / warning: key {stranger.kid!r} is in the database but the key store "
                             "does not pin it (it does not open in the software key store); it signed none of "
                             "these checkpoints\n")


def test_the_trust_file_verifies_on_another_machine(idp: Callable[..., Result], env: dict[str, str],
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record_signed(10)
    trust = tmp_path / "trust.json"
    exported = idp(["audit", "trust", "export", "--output", str(trust)])
    assert exported.returncode == 0, exported.stderr
    document = json.loads(trust.read_text(encoding="utf-8"))
    assert document["format"] == "vn-idp-audit-trust/1"
    assert {key["state"] for key in document["keys"]} == {"current", "next"}
    assert all("d" not in key and key["kid"] and key["not_before"] for key in document["keys"])

    # Security staff's machine: the database and the trust file, no KEK, no HSM.
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "elsewhere"))
    os.makedirs(tmp_path / "elsewhere")
    verified = idp(["audit", "verify", "--trust", str(trust)])
    assert verified.returncode == 0, verified.stderr
    assert "verified with the keys of the trust file" in verified.stdout
    assert_refused(idp(["audit", "verify"]), "the software key store cannot be opened here")

    kid = forge()
    assert_refused(idp(["audit", "verify", "--trust", str(trust)]),
                   f"checkpoint {min(signed_seqs())}: signature invalid",
                   f"signed with key {kid!r}, which the database holds but the trust file does not pin")


def test_a_trust_file_with_private_material_is_refused(idp: Callable[..., Result], tmp_path: Path) -> None:
    record_signed(1)
    trust = tmp_path / "trust.json"
    assert idp(["audit", "trust", "export", "-o", str(trust)]).returncode == 0
    document = json.loads(trust.read_text(encoding="utf-8"))
    document["keys"][0]["d"] = "AAAA"
    trust.write_text(json.dumps(document), encoding="utf-8")
    result = idp(["audit", "verify", "--trust", str(trust)])
    assert result.returncode == 1
    assert "carries private key material" in result.stderr and "AAAA" not in result.stderr


def test_key_rotation_keeps_older_checkpoints_verifiable(idp: Callable[..., Result], tmp_path: Path) -> None:
    record_signed(6)
    old_kid = signed_checkpoints()[0][1]
    assert idp(["keys", "rotate", "--force"]).returncode == 0
    record_signed(8)
    assert signed_checkpoints()[-1][1] != old_kid  # the newer checkpoints are signed by the new key
    # "--": a kid is a base64url thumbprint and may begin with "-", which argparse reads as an option
    assert idp(["keys", "retire", "--", old_kid]).returncode == 0  # withdrawn: still pins its old checkpoints

    trust = tmp_path / "trust.json"
    assert idp(["audit", "trust", "export", "-o", str(trust)]).returncode == 0
    old = next(key for key in json.loads(trust.read_text(encoding="utf-8"))["keys"] if key["kid"] == old_kid)
    assert old["state"] == "withdrawn" and old["not_after"]
    for args in ([], ["--trust", str(trust)]):
        result = idp(["audit", "verify", *args])
        assert result.returncode == 0, result.stderr
        assert int(result.stdout.split("), ")[1].split()[0]) >= 3  # checkpoints by both keys


def signed_checkpoints() -> list[tuple[int, str]]:
    """(seq, kid of the signing key) of the stored checkpoints, in event rows and in their own."""
    storage = open_storage(load_settings())
    try:
        with storage.db.connect() as conn:
            found = [*conn.execute(select(audit_events.c.seq, audit_events.c.checkpoint)
                                   .where(audit_events.c.checkpoint.is_not(None))),
                     *conn.execute(select(audit_checkpoints.c.seq, audit_checkpoints.c.signature))]
    finally:
        storage.close()
    return sorted((int(seq), header_kid(token)) for seq, token in found)


def header_kid(token: str) -> str:
    header = token.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def signed_seqs() -> list[int]:
    return [seq for seq, _kid in signed_checkpoints()]


@pytest.mark.parametrize(("rebuilt", "word"), [(6, "altered"), (1, "removed")])
def test_the_siem_copy_catches_a_deleted_and_rebuilt_tail(idp: Callable[..., Result], tmp_path: Path,
                                                          rebuilt: int, word: str) -> None:
    record_signed(10)
    copy = forward_to_siem(tmp_path / "siem.log")
    checkpoints = [line for line in copy.read_text(encoding="utf-8").splitlines() if " audit.checkpoint " in line]
    assert len(checkpoints) >= 2
    seqs = sorted(int(json.loads(line.split("\ufeff", 1)[1])["seq"]) for line in checkpoints)
    kept, lost = seqs[0], seqs[1]

    # The database writer deletes everything after the first checkpoint and writes a new tail
    # (unsigned: they have no key), moving the head to match. The chain alone cannot tell.
    settings = load_settings()
    storage = open_storage(settings)
    try:
        with storage.db.transaction() as conn:
            tip = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == kept)).scalar_one()
            conn.execute(audit_events.delete().where(audit_events.c.seq > kept))
            conn.execute(update(audit_chain).values(last_seq=kept, last_hash=tip))
        log = open_audit_log(settings, storage.db)
        for n in range(rebuilt):
            log.record(AuditEvent(type="signin", username=f"fake{n}", client_id="portal"))
    finally:
        storage.close()
    assert idp(["audit", "verify"]).returncode == 0

    result = idp(["audit", "verify", "--checkpoints", str(copy)])
    assert_refused(result, f"checkpoint {lost} of the external copy")
    assert f"audit log {word} at seq {kept + 1 if word == 'altered' else kept + rebuilt + 1}" in result.stderr


def test_the_siem_copy_of_a_clean_trail_matches(idp: Callable[..., Result], tmp_path: Path) -> None:
    record_signed(10)
    assert idp(["audit", "checkpoint"]).returncode == 0
    copy = forward_to_siem(tmp_path / "siem.log")
    signed = {json.loads(line.split("\ufeff", 1)[1])["seq"]
              for line in copy.read_text(encoding="utf-8").splitlines() if " audit.checkpoint " in line}
    assert len(signed) >= 3  # periodic ones and the on-demand one
    result = idp(["audit", "verify", "--checkpoints", str(copy)])
    assert result.returncode == 0, result.stderr
    assert f"; {len(signed)} checkpoints of the external copy match" in result.stdout


def forward_to_siem(path: Path) -> Path:
    """Stream the trail to a syslog SIEM on loopback and store its messages as it would, one a line."""
    server = TcpSyslogServer()
    settings = load_settings()
    storage = open_storage(settings)
    forwarder = AuditForwarder(storage.db, SyslogTcpSender("127.0.0.1", server.port))
    try:
        while forwarder.deliver():
            pass
        with storage.db.connect() as conn:  # every event, then a message per signed checkpoint
            expected = sum(1 + (row.checkpoint is not None) for row in conn.execute(select(audit_events)))
            expected += len(conn.execute(select(audit_checkpoints)).all())
        wait_for(lambda: len(server.messages()) >= expected)
    finally:
        forwarder.stop()
        storage.close()
        server.close()
    path.write_text("".join(m.decode("utf-8") + "\n" for m in server.messages()), encoding="utf-8")
    return path

"""``idp audit verify|export|prune|checkpoint`` and the audited ``idp clients``/``idp users`` commands."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from idp.audit.events import AuditEvent
from idp.audit.setup import open_audit_log
from idp.cli import main
from idp.runtime import open_storage
from idp.settings import Settings
from tests.functional.helpers import call_idp

PASSWORD = "một câu mật khẩu dài đủ dùng"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"IDP_DATA_DIR": str(tmp_path / "var")}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def idp(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``idp`` in this process (the same ``main`` as the installed command, without start-up time)."""
    for name in [k for k in os.environ if k.startswith("IDP_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(args: list[str], stdin: str = "") -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(args)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def database(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(env["IDP_DATA_DIR"]) / "idp.sqlite3")


def record_events(env: dict[str, str], count: int) -> None:
    """Append events in this process (faster than one ``idp`` run per event)."""
    settings = Settings(data_dir=Path(env["IDP_DATA_DIR"]))
    storage = open_storage(settings)
    try:
        log = open_audit_log(settings, storage.db)
        for n in range(count):
            log.record(AuditEvent(type="signin", username=f"u{n}", client_id="portal"))
    finally:
        storage.close()


def export(run: Callable[..., Result], *args: str) -> list[dict]:
    result = run(["audit", "export", *args])
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_admin_commands_leave_events_and_verify_passes(env: dict[str, str]) -> None:
    assert call_idp(["clients", "add", "portal", "--redirect-uri", "https://portal.example.vn/cb"],
                   env).returncode == 0
    assert call_idp(["users", "add", "canbo01", "--password-stdin"], env, stdin=PASSWORD + "\n").returncode == 0
    assert call_idp(["clients", "remove", "portal"], env).returncode == 0
    exported = call_idp(["audit", "export"], env)
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(e["seq"], e["type"]) for e in events] == [
        (1, "client.created"), (2, "account.created"), (3, "client.removed")]
    assert events[0]["client_id"] == "portal" and events[1]["username"] == "canbo01"
    assert events[0]["details"]["actor"].startswith("cli")
    verified = call_idp(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: 3 events")


def test_a_refused_client_leaves_no_event(idp: Callable[..., Result], env: dict[str, str]) -> None:
    assert idp(["clients", "add", "rp", "--redirect-uri", "/relative"]).returncode == 1
    assert export(idp) == []


@pytest.mark.parametrize(("tamper", "seq", "word"), [
    ("UPDATE audit_events SET client_id = 'other' WHERE seq = 2", 2, "altered"),
    ("DELETE FROM audit_events WHERE seq = 2", 2, "removed"),
    ("UPDATE audit_events SET seq = -seq WHERE seq IN (2, 3);"
     "UPDATE audit_events SET seq = 5 + seq WHERE seq IN (-2, -3)", 2, "reordered"),
])
def test_verify_names_the_tampered_seq(idp: Callable[..., Result], env: dict[str, str], tamper: str, seq: int,
                                       word: str) -> None:
    record_events(env, 4)
    with database(env) as conn:
        conn.executescript(tamper)
    result = idp(["audit", "verify"])
    assert result.returncode == 1
    assert result.stderr.startswith("idp: nhật ký kiểm toán")
    assert f"audit log {word} at seq {seq}:" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_head_interval_0_names_a_deleted_newest_event(idp: Callable[..., Result], env: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``IDP_AUDIT_HEAD_INTERVAL_SECONDS=0`` moves the chain head with every write, so the head
    names even the newest event (by default it may lag it by up to a second)."""
    monkeypatch.setenv("IDP_AUDIT_HEAD_INTERVAL_SECONDS", "0")
    record_events(env, 4)
    with database(env) as conn:
        newest = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
        conn.execute("DELETE FROM audit_events WHERE seq = ?", (newest,))
    result = idp(["audit", "verify"])
    assert result.returncode == 1
    assert f"audit log removed at seq {newest}: the chain head says seq {newest} exists" in result.stderr


def test_export_formats_and_filters(idp: Callable[..., Result], env: dict[str, str]) -> None:
    idp(["clients", "add", "=cmd|calc", "--redirect-uri", "https://rp.example.vn/cb"])
    idp(["users", "add", "canbo01", "--password-stdin"], stdin=PASSWORD + "\n")
    assert [e["type"] for e in export(idp, "--type", "account.*")] == ["account.created"]
    assert export(idp, "--since", "2999-01-01") == []
    assert len(export(idp, "--since", "1d")) == 2

    table = idp(["audit", "export", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert rows[0]["type"] == "client.created"
    assert rows[0]["client_id"] == "'=cmd|calc"  # a spreadsheet does not run it as a formula

    cef = idp(["audit", "export", "--format", "cef"]).stdout.splitlines()
    assert cef[0].startswith("CEF:0|vn-idp|idp|0.1.0|client.created|client.created|3|")
    assert "cs1==cmd|calc" not in cef[0] and "cs1=\\=cmd|calc" in cef[0]


def test_export_rejects_a_bad_time(idp: Callable[..., Result], env: dict[str, str]) -> None:
    result = idp(["audit", "export", "--since", "yesterday"])
    assert result.returncode == 1 and "invalid time" in result.stderr


def test_prune_keeps_the_chain_verifiable(idp: Callable[..., Result], env: dict[str, str]) -> None:
    record_events(env, 3)
    pruned = idp(["audit", "prune", "--before", "2999-01-01"])
    assert pruned.returncode == 0, pruned.stderr
    match = re.fullmatch(r"pruned (\d+) events through seq (\d+)", pruned.stdout.strip())
    assert match and match[1] == match[2] and int(match[1]) >= 3  # key.generated events too
    through = int(match[1])
    events = export(idp)
    assert events[0]["seq"] == through + 1
    assert events[0]["type"] == "admin.action" and events[0]["details"]["through_seq"] == through
    verified = idp(["audit", "verify"])
    assert verified.returncode == 0, verified.stderr

    with database(env) as conn:  # deleting more behind the prune is still caught
        conn.execute("DELETE FROM audit_events WHERE seq = ?", (through + 1,))
    assert f"at seq {through + 1}" in idp(["audit", "verify"]).stderr


def test_checkpoint_command_signs_the_head(idp: Callable[..., Result], env: dict[str, str]) -> None:
    record_events(env, 1)
    result = idp(["audit", "checkpoint"])
    assert result.returncode == 0, result.stderr
    assert "checkpoint" in idp(["audit", "verify"]).stdout
    with database(env) as conn:
        conn.execute("UPDATE audit_checkpoints SET hash = 'x'")
    assert idp(["audit", "verify"]).returncode == 1

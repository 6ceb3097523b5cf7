"""Retention periods: ``idp retention apply`` erases a person with no sign-in for the period
(audited with the keyed hash of their number only), keeps anyone who signed in since and anyone
with a local account, does nothing without a period, and is a dry run unless told otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.accounts.retention import apply, plan
from idp.audit.sql import SqlAuditLog
from idp.cli import main
from idp.settings import Settings
from idp.storage.models import Account, IdentityLink, Subject
from idp.storage.schema import audit_events
from idp.storage.sql import SqlStorage

NOW = datetime.now(UTC)  # the command reads the clock
LONG_AGO = NOW - timedelta(days=400)


def people(storage: SqlStorage) -> None:
    """``gone``: nobody heard of them for 400 days; ``back``: the same, but signed in last week
    through VNeID; ``official``: a local account, old too."""
    for subject_id, hashed in (("gone", "h-gone"), ("back", "h-back"), ("official", None)):
        storage.subjects.add(Subject(subject_id, "person", personal_id_hash=hashed, claims={"name": subject_id},
                                     created_at=LONG_AGO, updated_at=LONG_AGO))
    storage.links.add(IdentityLink("l-gone", "gone", "vneid", "u-gone", created_at=LONG_AGO, last_login_at=LONG_AGO))
    storage.links.add(IdentityLink("l-back", "back", "vneid", "u-back", created_at=LONG_AGO,
                                   last_login_at=NOW - timedelta(days=7)))
    storage.accounts.add(Account("a1", "official", "canbo01", "x", created_at=LONG_AGO, updated_at=LONG_AGO))


def test_an_inactive_person_is_erased_and_the_others_kept(storage: SqlStorage, tmp_path: Path) -> None:
    people(storage)
    planned = plan(Settings(data_dir=tmp_path, inactive_account_retention_days=365), storage, NOW)
    assert planned.inactive_subjects == ("gone",) and planned.audit_before is None
    assert storage.subjects.get("gone") is not None  # planning changes nothing
    apply(planned, storage, SqlAuditLog(storage.db), actor="operator")
    assert storage.subjects.get("gone") is None and storage.links.list_for_subject("gone") == []
    assert storage.subjects.get("back") is not None and storage.subjects.get("official") is not None
    with storage.db.connect() as conn:
        [event] = conn.execute(select(audit_events).where(audit_events.c.type == "personal_data.erased")).mappings()
    assert event["subject"] == "gone" and event["reason"] == "retention"
    assert event["details"]["personal_id_hash"] == "h-gone" and event["details"]["removed"]["subjects"] == 1


def test_without_periods_nothing_is_planned(storage: SqlStorage, tmp_path: Path) -> None:
    people(storage)
    planned = plan(Settings(data_dir=tmp_path), storage, NOW)
    assert planned.inactive_subjects == () and planned.audit_before is None and planned.audit_events == 0


@pytest.mark.parametrize("execute", [False, True])
def test_the_command_is_a_dry_run_unless_told(sqlite_storage: SqlStorage, tmp_path: Path, execute: bool,
                                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    people(sqlite_storage)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_INACTIVE_ACCOUNT_RETENTION_DAYS", "30")
    assert main(["retention", "apply", *(["--execute"] if execute else [])]) == 0
    out = capsys.readouterr().out
    assert "people: 1 without a sign-in" in out and "IDP_AUDIT_RETENTION_DAYS=0" in out
    assert ("dry run" in out) is not execute
    assert (sqlite_storage.subjects.get("gone") is None) is execute

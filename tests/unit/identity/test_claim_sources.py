"""Each claim of a person is owned by one source, and each report of that source replaces it
(idp/identity/sources.py through linking.py), on SQLite and PostgreSQL; and the migration that
gives the claims stored before an owner."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, insert

from adapters.base import Identity
from idp.storage.migrate import upgrade
from idp.storage.schema import identity_links
from idp.storage.sql import SqlStorage
from tests.unit.identity.test_linking import NUMBER, events, identity, link

migration = importlib.import_module("idp.storage.migrations.versions.0004_subject_claim_sources")
subjects_v3 = Table("subjects", MetaData(), Column("id", String), Column("kind", String), Column("claims", JSON),
                    Column("version", Integer), Column("created_at", DateTime(timezone=True)),
                    Column("updated_at", DateTime(timezone=True)))  # the table before the upgrade


def official(**claims: object) -> Identity:
    return Identity(subject="entry-uuid-1", adapter_id="officials", issuer="ldaps://dir", auth_time=0,
                    claims={"vn_personal_id": NUMBER, "name": "Nguyễn Văn An", **claims}, roles=("approver",))


def test_a_later_sign_in_replaces_what_its_source_owns(storage: SqlStorage) -> None:
    first = link(storage, official(vn_agency_code="000.00.12.H17", vn_unit="Sở Tài chính"))
    assert first.claims["vn_roles"] == ["approver"]
    again = link(storage, replace(official(vn_agency_code="000.00.31.H17"), roles=()))
    assert "vn_roles" not in again.claims and "vn_unit" not in again.claims  # no longer said: gone
    assert again.claims["vn_agency_code"] == "000.00.31.H17"
    assert again.sources["officials"]["claims"] == ["name", "vn_agency_code"]
    (changed,) = events(storage, "identity.changed")
    assert changed["details"]["roles_removed"] == ["approver"] and changed["details"]["roles_added"] == []
    assert changed["details"]["claims"] == ["vn_agency_code", "vn_roles", "vn_unit"]
    assert "000.00.31.H17" not in str(dict(changed))  # names the claims, never their values


def test_another_source_cannot_overwrite_or_remove_what_it_does_not_own(storage: SqlStorage) -> None:
    link(storage, official(vn_agency_code="000.00.12.H17"))
    citizen = link(storage, identity("vneid", "kc-1", name="Nguyễn Văn Ân", birthdate="1985-03-12"))
    assert citizen.claims["name"] == "Nguyễn Văn An" and citizen.claims["vn_roles"] == ["approver"]
    assert citizen.sources["vneid"]["claims"] == ["birthdate"]
    again = link(storage, identity("vneid", "kc-1", name="Nguyễn Văn Ân"))
    assert "birthdate" not in again.claims and again.claims["vn_agency_code"] == "000.00.12.H17"


def test_no_event_when_nothing_changed(storage: SqlStorage) -> None:
    link(storage, official())
    link(storage, official())
    assert events(storage, "identity.changed") == []


def test_the_migration_gives_each_stored_claim_to_the_first_source_that_reported_it() -> None:
    links = [("vneid", {"name": "A", "birthdate": "1985-03-12"}), ("officials", {"name": "A", "vn_roles": ["x"]})]
    sources = migration.owners({"name": "A", "birthdate": "1985-03-12", "vn_roles": ["x"], "gender": "male"}, links)
    assert sources == {"vneid": {"claims": ["birthdate", "gender", "name"], "checked_at": 0},
                       "officials": {"claims": ["vn_roles"], "checked_at": 0}}


def test_upgrading_gives_the_roles_frozen_before_to_their_directory(tmp_path: Path) -> None:
    """A person stored before the upgrade: the directory's next sign-in can take the role away."""
    storage = SqlStorage.open(f"sqlite:///{tmp_path / 'idp.sqlite3'}")
    try:
        upgrade(storage.db.engine, "0003")
        now = datetime.now(UTC)
        with storage.db.engine.begin() as conn:
            frozen = {"name": "A", "vn_roles": ["approver"]}
            conn.execute(insert(subjects_v3).values(id="s1", kind="person", claims=frozen, version=1,
                                                    created_at=now, updated_at=now))
            conn.execute(insert(identity_links).values(id="l1", subject_id="s1", adapter="officials",
                                                       external_subject="entry-uuid-1", claims={"name": "A"},
                                                       created_at=now, last_login_at=now))
        upgrade(storage.db.engine)
        stored = storage.subjects.get("s1")
        assert stored is not None and stored.sources["officials"]["claims"] == ["name", "vn_roles"]
        again = link(storage, Identity(subject="entry-uuid-1", adapter_id="officials", issuer="ldaps://dir",
                                       auth_time=0, claims={"name": "A"}))
        assert "vn_roles" not in again.claims
    finally:
        storage.close()

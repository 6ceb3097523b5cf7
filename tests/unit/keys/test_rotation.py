"""Rotation and retirement: what is published, what signs, what is refused, what is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.settings import Settings
from idp.storage.sql import SqlStorage
from keys import KeysError, RotationRefused, open_key_ring
from keys.schedule import KeySchedule
from tests.unit.keys.conftest import RecordingAuditLog, make_older


def kids(ring) -> list[str]:  # type: ignore[no-untyped-def]
    return [k["kid"] for k in ring.jwks()["keys"]]


def state_of(storage: SqlStorage, kid: str) -> str:
    record = storage.keys.get(kid)
    assert record is not None
    return record.state


def test_rotation_waits_until_jwks_caches_have_seen_the_next_key(storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, storage, audit)
    upcoming = [r for r in storage.keys.list() if r.state == "next"][0]
    with pytest.raises(RotationRefused, match="--force"):
        ring.lifecycle.rotate("ES256")
    make_older(storage, upcoming.kid, key_settings.jwks_max_age_seconds + key_settings.key_refresh_seconds)
    rotation = ring.lifecycle.rotate("ES256")
    assert rotation.current == upcoming.kid


def test_rotation_moves_next_to_current_and_current_to_retired(sqlite_storage, key_settings,
                                                                audit: RecordingAuditLog) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    before = ring.signer().kid
    rotation = ring.lifecycle.rotate("ES256", force=True)
    ring.refresh()
    assert ring.signer().kid == rotation.current != before
    assert (state_of(sqlite_storage, before), state_of(sqlite_storage, rotation.next)) == ("retired", "next")
    assert kids(ring) == [rotation.current, rotation.next, before]
    rotated = [e for e in audit.events if e.type == "key.rotated"]
    assert rotated[0].details == {"alg": "ES256", "current": rotation.current, "retired": before,
                                  "next": rotation.next, "forced": True}


def test_retired_key_stays_published_until_its_tokens_expired(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    old = ring.signer().kid
    ring.lifecycle.rotate("ES256", force=True)
    schedule = KeySchedule.from_settings(key_settings)
    lifetime = max(key_settings.id_token_ttl_seconds, key_settings.access_token_ttl_seconds)
    make_older(sqlite_storage, old, lifetime)  # tokens signed at retirement are just expired...
    ring.refresh()
    assert old in kids(ring)  # ...but clock leeway keeps the key a little longer
    make_older(sqlite_storage, old, schedule.leeway.total_seconds() + 1)
    ring.refresh()
    assert old not in kids(ring)


def test_retire_a_retired_key_removes_it_from_the_jwks(storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, storage, audit)
    old = ring.signer().kid
    ring.lifecycle.rotate("ES256", force=True)
    ring.lifecycle.retire(old)
    ring.refresh()
    assert old not in kids(ring) and state_of(storage, old) == "withdrawn"
    assert audit.events[-1].type == "key.retired" and audit.events[-1].details["kid"] == old


def test_retire_the_current_key_promotes_the_next_one(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    compromised = ring.signer().kid
    upcoming = [r.kid for r in sqlite_storage.keys.list() if r.state == "next"][0]
    ring.lifecycle.retire(compromised)
    ring.refresh()
    assert ring.signer().kid == upcoming
    assert compromised not in kids(ring)
    assert sorted(r.state for r in sqlite_storage.keys.list()) == ["current", "next", "withdrawn"]


def test_retire_the_next_key_publishes_a_new_one(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    upcoming = [r.kid for r in sqlite_storage.keys.list() if r.state == "next"][0]
    ring.lifecycle.retire(upcoming)
    ring.refresh()
    states = {r.kid: r.state for r in sqlite_storage.keys.list()}
    assert states[upcoming] == "withdrawn" and list(states.values()).count("next") == 1


def test_retire_unknown_kid_fails(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    with pytest.raises(KeysError, match="nope"):
        ring.lifecycle.retire("nope")


def test_a_new_algorithm_gets_its_keys_at_next_start(sqlite_storage, tmp_path, audit) -> None:
    open_key_ring(Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256"]), sqlite_storage, audit)
    ring = open_key_ring(Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256", "EdDSA"]),
                         sqlite_storage, audit)
    assert ring.algorithms() == ["ES256", "EdDSA"]


def test_schedule_lead_time_follows_cache_settings(key_settings) -> None:
    schedule = KeySchedule.from_settings(key_settings)
    assert schedule.next_key_lead_time == timedelta(seconds=600 + 2)
    assert schedule.token_lifetime == timedelta(seconds=300)
    assert datetime.now(UTC) > datetime(2024, 1, 1, tzinfo=UTC)

"""The key ring on SQLite and PostgreSQL: first start, JWKS, signing, replicas, refresh."""

from __future__ import annotations

import json
import threading
import time

import pytest

from idp.settings import Settings
from idp.storage.migrate import upgrade
from idp.storage.sql import SqlStorage
from keys import NoSigningKey, encode_jwt, open_key_ring
from keys.errors import InvalidToken
from tests.unit.keys.conftest import RecordingAuditLog


def test_first_start_makes_a_current_and_a_next_key_per_algorithm(storage: SqlStorage, tmp_path,
                                                                  audit: RecordingAuditLog) -> None:
    settings = Settings(data_dir=tmp_path / "var")  # the defaults: ES256 and RS256
    ring = open_key_ring(settings, storage, audit)
    states = sorted((r.alg, r.state) for r in storage.keys.list())
    assert states == [("ES256", "current"), ("ES256", "next"), ("RS256", "current"), ("RS256", "next")]
    assert ring.algorithms() == ["ES256", "RS256"]
    assert ring.signer().alg == "ES256" and ring.signer("RS256").alg == "RS256"
    assert audit.types() == ["key.generated"] * 4
    jwks = ring.jwks()
    assert [k["alg"] for k in jwks["keys"][:2]] == ["ES256", "RS256"]  # current keys first
    assert len(jwks["keys"]) == 4 and all(k["use"] == "sig" for k in jwks["keys"])
    assert not any({"d", "p", "q"} & set(k) for k in jwks["keys"])


def test_second_start_reuses_the_keys(storage: SqlStorage, key_settings: Settings, audit) -> None:
    first = open_key_ring(key_settings, storage, audit)
    second = open_key_ring(key_settings, storage, audit)
    assert second.signer().kid == first.signer().kid
    assert second.jwks_document() == first.jwks_document()
    assert len(audit.events) == 2


def test_jwks_document_has_cache_headers(sqlite_storage: SqlStorage, tmp_path, audit) -> None:
    settings = Settings(data_dir=tmp_path / "var", signing_algorithms=["ES256"], jwks_max_age_seconds=300)
    ring = open_key_ring(settings, sqlite_storage, audit)
    body, headers = ring.jwks_document()
    assert json.loads(body) == ring.jwks()
    assert headers["Cache-Control"] == "public, max-age=300"
    assert headers["ETag"].startswith('"') and len(headers["ETag"]) > 10


def test_unknown_algorithm_gives_a_clear_lookup_error(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    with pytest.raises(NoSigningKey, match="RS256") as caught:
        ring.signer("RS256")
    assert isinstance(caught.value, LookupError)


def test_verify_jwt_only_trusts_published_keys(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    token = encode_jwt(ring.signer(), {"sub": "a", "exp": time.time() + 60})
    assert ring.verify_jwt(token)[1]["sub"] == "a"
    elsewhere = SqlStorage.open(f"sqlite:///{key_settings.data_dir / 'other.db'}")
    upgrade(elsewhere.db.engine)
    other = open_key_ring(Settings(data_dir=key_settings.data_dir / "other", signing_algorithms=["ES256"]),
                          elsewhere, audit)
    with pytest.raises(InvalidToken) as caught:
        ring.verify_jwt(encode_jwt(other.signer(), {"sub": "a"}))
    elsewhere.close()
    assert caught.value.reason == "unknown_kid"


def test_concurrent_first_starts_make_one_current_key(storage: SqlStorage, key_settings, audit) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_key_ring(key_settings, storage, audit)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.state for r in storage.keys.list()) == ["current", "next"]


def test_a_replica_picks_up_a_rotation_within_seconds(storage: SqlStorage, key_settings, audit) -> None:
    replica_a = open_key_ring(key_settings, storage, audit)
    replica_b = open_key_ring(key_settings, storage, audit)
    replica_b.start_auto_refresh(interval=0.2)
    try:
        rotation = replica_a.lifecycle.rotate("ES256", force=True)
        deadline = time.monotonic() + 5
        while replica_b.signer().kid != rotation.current and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica_b.signer().kid == rotation.current
        assert rotation.next in {k["kid"] for k in replica_b.jwks()["keys"]}
    finally:
        replica_b.close()


def test_a_remembered_token_is_forgotten_when_its_key_is_withdrawn(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    token = encode_jwt(ring.signer(), {"sub": "a", "exp": time.time() + 60}, typ="at+jwt")
    kid = ring.signer().kid
    assert ring.verify_jwt(token, typ="at+jwt", remember=True)[1]["sub"] == "a"
    header, claims = ring.verify_jwt(token, typ="at+jwt", remember=True)  # from memory
    claims["sub"] = "changed by a caller"
    assert ring.verify_jwt(token, typ="at+jwt", remember=True)[1]["sub"] == "a"  # callers get copies
    with pytest.raises(InvalidToken):  # remembered as an access token, not as an ID token
        ring.verify_jwt(token, typ="JWT", remember=True)
    with pytest.raises(InvalidToken):
        ring.verify_jwt(token[:-4] + "AAAA", typ="at+jwt", remember=True)
    ring.lifecycle.retire(kid)  # e.g. after a compromise: off the JWKS at once
    ring.refresh()
    with pytest.raises(InvalidToken):
        ring.verify_jwt(token, typ="at+jwt", remember=True)


def test_a_token_signed_here_is_remembered_as_verification_would_give_it(sqlite_storage, key_settings, audit,
                                                                           monkeypatch) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    signer = ring.signer()
    claims = {"sub": "a", "exp": int(time.time()) + 60, "cnf": {"jkt": "k"}}
    token = encode_jwt(signer, claims, typ="at+jwt")
    expected = ring.verify_jwt(token, typ="at+jwt")  # a real verification, not remembered
    ring.remember_issued(token, signer, typ="at+jwt", claims=claims)
    from keys import verify as verify_module

    def no_verification(*args, **kwargs):
        raise AssertionError("verified again")

    monkeypatch.setattr(verify_module, "verify_compact", no_verification)
    assert ring.verify_jwt(token, typ="at+jwt", remember=True) == expected
    with pytest.raises(AssertionError):  # remembered only as what it was signed as
        ring.verify_jwt(token, typ="JWT", remember=True)


def test_a_token_of_a_withdrawn_key_is_not_remembered(sqlite_storage, key_settings, audit) -> None:
    ring = open_key_ring(key_settings, sqlite_storage, audit)
    signer = ring.signer()
    ring.lifecycle.retire(signer.kid)
    ring.refresh()
    token = encode_jwt(signer, {"sub": "a", "exp": int(time.time()) + 60}, typ="at+jwt")
    ring.remember_issued(token, signer, typ="at+jwt", claims={"sub": "a"})
    with pytest.raises(InvalidToken):
        ring.verify_jwt(token, typ="at+jwt", remember=True)

"""One conformance suite for the durable store, run on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError

from idp.errors import AlreadyExists, NotFound
from idp.storage.models import Account, Client, Grant, RefreshToken, SigningKeyRecord, Subject, utcnow
from idp.storage.protocols import RefreshUse, Successor
from idp.storage.schema import grants
from idp.storage.sql import SqlStorage
from tests.wire import WireTrace, wire_trace


def make_client(client_id: str = "portal") -> Client:
    return Client(client_id=client_id, name="Cổng dịch vụ công", auth_method="client_secret_basic",
                  redirect_uris=("https://portal.example.vn/cb",), secret_hash="sha256$00")


def test_client_round_trip_and_duplicate(storage: SqlStorage) -> None:
    storage.clients.add(make_client())
    got = storage.clients.get("portal")
    assert got is not None and got.name == "Cổng dịch vụ công"
    assert got.redirect_uris == ("https://portal.example.vn/cb",)
    assert got.created_at.tzinfo is not None
    with pytest.raises(AlreadyExists):
        storage.clients.add(make_client())
    assert [c.client_id for c in storage.clients.list()] == ["portal"]


def test_client_update_is_compare_and_swap(storage: SqlStorage) -> None:
    storage.clients.add(make_client())
    errors: list[Exception] = []

    def add_uri(n: int) -> None:
        try:
            storage.clients.update(
                "portal", lambda c: c.replace(redirect_uris=(*c.redirect_uris, f"https://rp{n}.example.vn/cb"))
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add_uri, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    client = storage.clients.get("portal")
    assert client is not None
    # No writer lost another's change.
    assert len(client.redirect_uris) == 9
    assert client.version == 9


def test_client_remove(storage: SqlStorage) -> None:
    storage.clients.add(make_client())
    assert storage.clients.remove("portal") is True
    assert storage.clients.remove("portal") is False
    with pytest.raises(NotFound):
        storage.clients.update("portal", lambda c: c)


def add_person(storage: SqlStorage, username: str = "nguyenvana") -> Account:
    subject = storage.subjects.add(Subject(id=f"s-{username}", kind="official"))
    return storage.accounts.add(Account(id=f"a-{username}", subject_id=subject.id, username=username.upper(),
                                        password_hash="x"))


def test_accounts_usernames_are_case_insensitive_and_unique(storage: SqlStorage) -> None:
    add_person(storage)
    assert storage.accounts.get_by_username("NguyenVanA") is not None
    with pytest.raises(AlreadyExists):
        storage.accounts.add(Account(id="other", subject_id="s-nguyenvana", username="nguyenvana", password_hash="y"))


def test_transaction_rolls_back_both_writes(storage: SqlStorage) -> None:
    with pytest.raises(RuntimeError), storage.db.transaction():
        storage.subjects.add(Subject(id="s1", kind="citizen"))
        raise RuntimeError("boom")
    assert storage.subjects.get("s1") is None


def test_personal_id_hash_is_unique(storage: SqlStorage) -> None:
    storage.subjects.add(Subject(id="s1", kind="citizen", personal_id_hash="h"))
    with pytest.raises(AlreadyExists):
        storage.subjects.add(Subject(id="s2", kind="citizen", personal_id_hash="h"))
    assert storage.subjects.get_by_personal_id_hash("h").id == "s1"  # type: ignore[union-attr]


def test_consents_merge(storage: SqlStorage) -> None:
    storage.clients.add(make_client())
    account = add_person(storage)
    storage.consents.grant(account.subject_id, "portal", {"openid", "profile"})
    consent = storage.consents.grant(account.subject_id, "portal", {"email"})
    assert consent.scopes == {"openid", "profile", "email"}
    stored = storage.consents.get(account.subject_id, "portal")
    assert stored is not None and stored.covers({"openid", "email"}) and not stored.covers({"phone"})
    assert storage.consents.withdraw(account.subject_id, "portal") is True
    assert storage.consents.get(account.subject_id, "portal") is None


def make_grant(storage: SqlStorage) -> Grant:
    storage.clients.add(make_client())
    grant = Grant(id="g1", client_id="portal", subject_id="s1", scopes=("openid", "offline_access"),
                  expires_at=utcnow() + timedelta(days=1), sid="sid1", amr=("pwd",))
    storage.grants.create(grant)
    storage.grants.add_refresh_token(RefreshToken("h0", "g1", utcnow() + timedelta(days=1)))
    return grant


def successor(name: str, client_id: str = "portal", dpop_jkt: str | None = None) -> Successor:
    return Successor(name, client_id, dpop_jkt)


def test_refresh_rotation_stores_the_successor_and_detects_reuse(storage: SqlStorage) -> None:
    make_grant(storage)
    stored = storage.grants.get("g1")
    use = storage.grants.use_refresh_token("h0", successor("h1"))
    assert use.status == "used" and use.grant is not None and use.grant.amr == ("pwd",) and use.token is not None
    assert use.grant == stored  # the grant read with the claim (one statement on PostgreSQL) is the stored one
    assert use.token.grant_id == "g1" and use.token.token_hash == "h0" and use.token.used_at is not None
    fresh = storage.grants.find_refresh_token("h1")
    assert fresh is not None and fresh == use.successor
    assert fresh.grant_id == "g1" and fresh.expires_at == stored.expires_at and fresh.used_at is None  # type: ignore[union-attr]
    again = storage.grants.use_refresh_token("h0", successor("h2"))
    assert again.status == "reused" and again.successor is None and storage.grants.find_refresh_token("h2") is None
    assert storage.grants.use_refresh_token("nope", successor("h3")) == RefreshUse("invalid")
    assert storage.grants.use_refresh_token("h1", successor("h4")).status == "used"  # the successor rotates in turn


def test_settling_a_committed_rotation_undoes_it(storage: SqlStorage) -> None:
    make_grant(storage)
    assert storage.grants.use_refresh_token("h0", successor("h1")).status == "used"  # its answer never arrived
    assert storage.grants.settle_rotation("h0", "h1") is True
    assert storage.grants.find_refresh_token("h1") is None
    assert storage.grants.use_refresh_token("h0", successor("h2")).status == "used"  # the client's retry
    assert storage.grants.settle_rotation("h0", "h1") is False  # settled once: nothing more to undo


def test_settling_a_rotation_before_its_claim_runs_makes_the_claim_fail(storage: SqlStorage) -> None:
    make_grant(storage)
    assert storage.grants.settle_rotation("h0", "h1") is False  # the claim is still in flight
    with pytest.raises(IntegrityError):  # the claim runs late (a frozen database resumed): it cannot commit
        storage.grants.use_refresh_token("h0", successor("h1"))
    token = storage.grants.find_refresh_token("h0")
    assert token is not None and token.used_at is None
    assert storage.grants.use_refresh_token("h0", successor("h2")).status == "used"  # the client's retry


def test_settling_never_undoes_a_rotation_whose_successor_was_used(storage: SqlStorage) -> None:
    make_grant(storage)
    storage.grants.use_refresh_token("h0", successor("h1"))
    storage.grants.use_refresh_token("h1", successor("h2"))
    assert storage.grants.settle_rotation("h0", "h1") is False
    assert storage.grants.use_refresh_token("h0", successor("h3")).status == "reused"
    assert storage.grants.settle_rotation("unknown", "h9") is False


def test_refresh_rotation_reads_the_subject_with_the_claim_on_postgresql(storage: SqlStorage) -> None:
    make_grant(storage)
    storage.subjects.add(Subject(id="s1", kind="citizen", claims={"name": "Nguyễn Văn An"}))
    storage.subjects.update("s1", lambda s: s.replace(claims={"name": "Nguyễn Văn Bình"}))
    use = storage.grants.use_refresh_token("h0", successor("h1"))
    if storage.db.dialect == "postgresql":
        assert use.subject == storage.subjects.get("s1") and use.subject.claims == {"name": "Nguyễn Văn Bình"}  # type: ignore[union-attr]
    else:
        assert use.subject is None  # SQLite: the caller reads it


def test_refresh_rotation_without_a_subject_row(storage: SqlStorage) -> None:
    make_grant(storage)  # grant of subject "s1", never stored as a subject
    use = storage.grants.use_refresh_token("h0", successor("h1"))
    assert use.status == "used" and use.subject is None and use.successor is not None


def test_a_rotation_is_one_statement_on_postgresql(storage: SqlStorage) -> None:
    make_grant(storage)
    with statements_sent(storage) as sent:
        assert storage.grants.use_refresh_token("h0", successor("h1")).status == "used"
    # SQLite: BEGIN, the claim, the grant, the successor, in one transaction
    assert sent.statements == (1 if storage.db.dialect == "postgresql" else 4)


def test_refresh_rotation_has_one_winner_and_one_successor(storage: SqlStorage) -> None:
    make_grant(storage)
    results: dict[int, str] = {}

    def rotate(n: int) -> None:
        results[n] = storage.grants.use_refresh_token("h0", successor(f"next{n}")).status

    threads = [threading.Thread(target=rotate, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["reused"] * 9 + ["used"]
    stored = [n for n in range(10) if storage.grants.find_refresh_token(f"next{n}") is not None]
    assert stored == [n for n, status in results.items() if status == "used"]  # the winner's successor only


def test_revoked_grant_refuses_refresh_and_stores_no_successor(storage: SqlStorage) -> None:
    make_grant(storage)
    assert storage.grants.revoke("g1", "logout") is True
    assert storage.grants.revoke("g1", "logout") is False
    assert storage.grants.use_refresh_token("h0", successor("h1")) == RefreshUse("invalid")
    assert storage.grants.find_refresh_token("h1") is None
    assert storage.grants.list_active_for_sid("sid1") == []


def test_expired_grant_refuses_refresh_and_stores_no_successor(storage: SqlStorage) -> None:
    make_grant(storage)
    with storage.db.connect() as conn:
        conn.execute(update(grants).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert storage.grants.use_refresh_token("h0", successor("h1")) == RefreshUse("invalid")
    assert storage.grants.find_refresh_token("h1") is None


def test_a_token_bound_to_another_dpop_key_is_not_consumed(storage: SqlStorage) -> None:
    make_grant(storage)
    storage.grants.add_refresh_token(RefreshToken("bound", "g1", utcnow() + timedelta(days=1), dpop_jkt="key-a"))
    refused = storage.grants.use_refresh_token("bound", successor("h1", dpop_jkt="key-b"), dpop_jkt="key-b")
    assert refused.status == "wrong_key" and refused.successor is None
    assert storage.grants.find_refresh_token("h1") is None
    assert storage.grants.find_refresh_token("bound").used_at is None  # type: ignore[union-attr]
    use = storage.grants.use_refresh_token("bound", successor("h2", dpop_jkt="key-a"), dpop_jkt="key-a")
    assert use.status == "used" and storage.grants.find_refresh_token("h2").dpop_jkt == "key-a"  # type: ignore[union-attr]


def test_another_clients_rotation_consumes_but_stores_nothing(storage: SqlStorage) -> None:
    make_grant(storage)
    use = storage.grants.use_refresh_token("h0", successor("h1", client_id="other"))
    assert use.status == "used" and use.successor is None  # the caller refuses: the grant is not this client's
    assert storage.grants.find_refresh_token("h1") is None
    assert storage.grants.use_refresh_token("h0", successor("h2")).status == "reused"


def test_discard_refresh_token(storage: SqlStorage) -> None:
    make_grant(storage)
    storage.grants.discard_refresh_token("h0")
    storage.grants.discard_refresh_token("h0")  # already gone: nothing to do
    assert storage.grants.find_refresh_token("h0") is None


def test_signing_keys(storage: SqlStorage) -> None:
    storage.keys.add(SigningKeyRecord(kid="k1", alg="ES256", backend="software", state="next",
                                      public_jwk={"kty": "EC"}, private_key_enc=b"\x00\x01"))
    updated = storage.keys.update("k1", lambda k: k.replace(state="current"))
    assert updated.state == "current" and updated.version == 2
    got = storage.keys.get("k1")
    assert got is not None and got.private_key_enc == b"\x00\x01"


def test_create_if_absent_keeps_the_first_grant(storage: SqlStorage) -> None:
    first = make_grant(storage)
    again = storage.grants.create_if_absent(dataclasses.replace(first, scopes=("openid",), acr="other"))
    assert again.scopes == first.scopes and again.acr == first.acr
    fresh = storage.grants.create_if_absent(dataclasses.replace(first, id="g2"))
    assert storage.grants.get("g2") == fresh


def test_open_with_refresh_token_creates_the_grant_and_its_first_token(storage: SqlStorage) -> None:
    storage.clients.add(make_client())
    grant = Grant(id="g9", client_id="portal", subject_id="s1", scopes=("openid", "offline_access"),
                  expires_at=utcnow() + timedelta(days=1), sid="sid1", amr=("pwd",), claims={"released": ["name"]})
    with statements_sent(storage) as sent:
        stored = storage.grants.open_with_refresh_token(grant, "t1", dpop_jkt="jkt-1")
    assert stored == storage.grants.get("g9") and stored.active and stored.claims == {"released": ["name"]}
    token = storage.grants.find_refresh_token("t1")
    assert token is not None and token.grant_id == "g9" and token.dpop_jkt == "jkt-1"
    assert token.expires_at == stored.expires_at
    if storage.db.dialect == "postgresql":
        assert sent.statements == 1


def test_open_with_refresh_token_reuses_an_existing_grant(storage: SqlStorage) -> None:
    first = make_grant(storage)
    again = dataclasses.replace(first, scopes=("openid",), expires_at=utcnow() + timedelta(days=9))
    stored = storage.grants.open_with_refresh_token(again, "t2")
    assert stored == storage.grants.get("g1") and stored.scopes == first.scopes
    token = storage.grants.find_refresh_token("t2")
    assert token is not None and token.expires_at == stored.expires_at  # the stored grant's expiry, not the new one's


def test_open_with_refresh_token_stores_no_token_under_a_revoked_or_foreign_grant(storage: SqlStorage) -> None:
    first = make_grant(storage)
    storage.clients.add(make_client("other"))
    foreign = storage.grants.open_with_refresh_token(dataclasses.replace(first, client_id="other"), "t3")
    assert foreign.client_id == "portal" and storage.grants.find_refresh_token("t3") is None
    storage.grants.revoke("g1", "logout")
    revoked = storage.grants.open_with_refresh_token(first, "t4")
    assert not revoked.active and storage.grants.find_refresh_token("t4") is None


@contextmanager
def statements_sent(storage: SqlStorage) -> Iterator[WireTrace]:
    """Count the statements the block sends: on the wire for PostgreSQL (some run on the driver
    connection, past SQLAlchemy's events), through SQLAlchemy's events for SQLite."""
    if storage.db.dialect == "postgresql":
        with wire_trace(storage) as trace:
            yield trace
        return
    counted = WireTrace()

    def listener(*_args: object) -> None:
        counted.statements += 1

    event.listen(storage.db.engine, "before_cursor_execute", listener)
    try:
        yield counted
    finally:
        event.remove(storage.db.engine, "before_cursor_execute", listener)

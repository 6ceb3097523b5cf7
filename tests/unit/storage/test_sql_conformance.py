"""One conformance suite for the durable store, run on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from idp.errors import AlreadyExists, NotFound
from idp.storage.models import Account, Client, Grant, RefreshToken, SigningKeyRecord, Subject, utcnow
from idp.storage.sql import SqlStorage


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


def test_refresh_rotation_detects_reuse(storage: SqlStorage) -> None:
    make_grant(storage)
    stored = storage.grants.get("g1")
    status, grant, token = storage.grants.use_refresh_token("h0")
    assert status == "used" and grant is not None and grant.amr == ("pwd",) and token is not None
    assert grant == stored  # the grant read with the claim (one statement on PostgreSQL) is the stored one
    assert token.grant_id == "g1" and token.token_hash == "h0" and token.used_at is not None
    assert storage.grants.use_refresh_token("h0")[0] == "reused"
    assert storage.grants.use_refresh_token("nope") == ("invalid", None, None)


def test_refresh_rotation_has_one_winner(storage: SqlStorage) -> None:
    make_grant(storage)
    results: list[str] = []

    def rotate(n: int) -> None:
        results.append(storage.grants.use_refresh_token("h0")[0])

    threads = [threading.Thread(target=rotate, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["reused"] * 9 + ["used"]


def test_revoked_grant_refuses_refresh(storage: SqlStorage) -> None:
    make_grant(storage)
    assert storage.grants.revoke("g1", "logout") is True
    assert storage.grants.revoke("g1", "logout") is False
    assert storage.grants.use_refresh_token("h0")[0] == "invalid"
    assert storage.grants.list_active_for_sid("sid1") == []


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

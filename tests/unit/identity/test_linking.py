"""One person per personal ID number (idp/identity/linking.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import Identity
from idp.audit.sql import SqlAuditLog
from idp.identity.linking import LinkConflict, link_identity
from idp.identity.protection import decrypt_personal_id, derive_identity_keys, personal_id_hash
from idp.storage.schema import audit_events, identity_links, metadata, subjects
from idp.storage.sql import SqlStorage

KEYS = derive_identity_keys(b"k" * 32)
NUMBER = "049085001234"


def identity(adapter: str, sub: str, **claims: Any) -> Identity:
    claims.setdefault("vn_personal_id", NUMBER)
    claims.setdefault("name", "Nguyễn Văn An")
    return Identity(subject=sub, adapter_id=adapter, issuer=f"https://{adapter}.test", auth_time=0, claims=claims)


def link(storage: SqlStorage, who: Identity) -> Any:
    return link_identity(storage, who, hash_key=KEYS.hash_key, enc_key=KEYS.enc_key, audit=SqlAuditLog(storage.db))


def events(storage: SqlStorage, type_: str) -> list[Any]:
    with storage.db.connect() as conn:
        return list(conn.execute(select(audit_events).where(audit_events.c.type == type_)).mappings())


def all_stored_text(storage: SqlStorage) -> str:
    dump = []
    with storage.db.connect() as conn:
        for table in metadata.sorted_tables:
            dump.extend(str(dict(row)) for row in conn.execute(select(table)).mappings())
    return "\n".join(dump)


def test_first_sign_in_creates_the_person_and_never_stores_the_number_plain(storage: SqlStorage) -> None:
    subject = link(storage, identity("vneid", "kc-uuid-1", preferred_username=NUMBER))
    assert subject.personal_id_hash == personal_id_hash(NUMBER, KEYS.hash_key)
    assert decrypt_personal_id(subject.personal_id_enc or "", KEYS.enc_key) == NUMBER
    assert subject.id != NUMBER and NUMBER not in subject.id
    assert NUMBER not in all_stored_text(storage)
    (linked,) = events(storage, "identity.linked")
    assert linked["details"]["created_subject"] is True


def test_the_other_upstream_finds_the_same_person(storage: SqlStorage) -> None:
    first = link(storage, identity("vneid", "kc-uuid-1"))
    second = link(storage, identity("dvcqg", "wso2-sub-9", birthdate="1985-03-12"))
    again = link(storage, identity("vneid", "kc-uuid-1"))
    assert first.id == second.id == again.id
    links = storage.links.list_for_subject(first.id)
    assert {(x.adapter, x.external_subject) for x in links} == {("vneid", "kc-uuid-1"), ("dvcqg", "wso2-sub-9")}
    stored = storage.subjects.get(first.id)
    assert stored is not None and stored.claims["birthdate"] == "1985-03-12"  # added by the second source


def test_conflicting_attributes_are_kept_per_source_and_audited(storage: SqlStorage) -> None:
    first = link(storage, identity("vneid", "kc-uuid-1", name="Nguyễn Văn An"))
    link(storage, identity("dvcqg", "wso2-sub-9", name="Nguyễn Văn Ân"))
    per_source = {x.adapter: x.claims["name"] for x in storage.links.list_for_subject(first.id)}
    assert per_source == {"vneid": "Nguyễn Văn An", "dvcqg": "Nguyễn Văn Ân"}
    stored = storage.subjects.get(first.id)
    assert stored is not None and stored.claims["name"] == "Nguyễn Văn An"  # the first value stays
    (conflict,) = events(storage, "identity.conflict")
    assert conflict["subject"] == first.id and conflict["adapter"] == "dvcqg"
    assert conflict["details"] == {"claims": ["name"]}
    assert "Ân" not in str(dict(conflict))  # names the claim, never the personal data


def test_different_numbers_are_different_people(storage: SqlStorage) -> None:
    one = link(storage, identity("vneid", "a"))
    two = link(storage, identity("vneid", "b", vn_personal_id="048193004567"))
    assert one.id != two.id


def test_an_upstream_sub_that_is_the_number_is_stored_only_hashed(storage: SqlStorage) -> None:
    subject = link(storage, identity("dvcqg", NUMBER))
    assert link(storage, identity("dvcqg", NUMBER)).id == subject.id
    with storage.db.connect() as conn:
        (external,) = conn.execute(select(identity_links.c.external_subject)).scalars()
    assert external.startswith("pid-hmac:") and NUMBER not in all_stored_text(storage)


def test_an_upstream_account_that_now_names_another_person_is_refused_and_audited(storage: SqlStorage) -> None:
    link(storage, identity("vneid", "kc-uuid-1"))
    with pytest.raises(LinkConflict):
        link(storage, identity("vneid", "kc-uuid-1", vn_personal_id="048193004567"))
    (refusal,) = events(storage, "identity.conflict")
    assert refusal["reason"] == "personal_id_changed" and refusal["outcome"] == "denied"


def test_identities_without_a_personal_id_link_by_upstream_subject(storage: SqlStorage) -> None:
    plain = Identity(subject="op-sub", adapter_id="partner-op", issuer="https://op.test", auth_time=0, claims={})
    first = link(storage, plain)
    assert first.personal_id_hash is None and link(storage, plain).id == first.id


def test_concurrent_first_sign_ins_of_one_person_make_one_subject(storage: SqlStorage) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def sign_in(adapter: str, sub: str) -> None:
        barrier.wait()
        try:
            results.append(link(storage, identity(adapter, sub)).id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sign_in, args=args) for args in
               [("vneid", "kc-1"), ("dvcqg", "wso2-1"), ("vneid", "kc-1"), ("dvcqg", "wso2-1")]]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 4
    with storage.db.connect() as conn:
        assert len(list(conn.execute(select(subjects.c.id)))) == 1
        assert len(list(conn.execute(select(identity_links.c.id)))) == 2


def test_release_gets_the_number_back_only_with_the_key(storage: SqlStorage) -> None:
    from idp.identity.claims import person_claims

    subject = link(storage, identity("vneid", "kc-uuid-1"))
    assert person_claims(subject, KEYS.enc_key)["vn_personal_id"] == NUMBER
    with pytest.raises(ValueError, match="cannot be decrypted"):
        person_claims(subject, derive_identity_keys(b"x" * 32).enc_key)

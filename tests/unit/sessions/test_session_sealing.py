"""The upstream record of an SSO session (the upstream ID token, for upstream logout) is sealed in
the store: the raw in-process (and Redis) record holds no readable token nor personal ID number,
the session read back has it, and a sealed record does not open in another session or under
another key-encryption key."""

from __future__ import annotations

import json

import pytest

from idp.sessions.sealing import derive_session_key
from idp.sessions.store import KIND, SessionStore
from idp.storage.ephemeral.base import EphemeralStore
from idp.storage.ephemeral.memory import MemoryStore

PERSONAL_ID = "048193004567"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiIwNDgxOTMwMDQ1NjcifQ.c2ln"
UPSTREAM = {"adapter": "vneid", "logout": {"id_token_hint": ID_TOKEN, "sid": "upstream-sid", "who": PERSONAL_ID}}
KEY = derive_session_key(b"k" * 32)


def signed_in(sessions: SessionStore) -> str:
    session = sessions.create(subject_id="s1", auth_time=1, acr=None, amr=("fed",), adapter="vneid")
    sessions.save(session.replace(upstream=UPSTREAM))
    return session.id


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> EphemeralStore:
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")  # type: ignore[no-any-return]


def test_the_raw_record_holds_no_readable_token(store: EphemeralStore) -> None:
    sessions = SessionStore(store, idle_seconds=600, absolute_seconds=3600, sealing_key=KEY)
    session_id = signed_in(sessions)
    raw = json.dumps(store.find(KIND, session_id))
    assert ID_TOKEN not in raw and PERSONAL_ID not in raw and "upstream-sid" not in raw
    read = sessions.get(session_id)
    assert read is not None and read.upstream == UPSTREAM
    ended = sessions.destroy(session_id)
    assert ended is not None and ended.upstream == UPSTREAM


def test_a_sealed_record_opens_only_in_its_session_under_its_key() -> None:
    store = MemoryStore()
    sessions = SessionStore(store, idle_seconds=600, absolute_seconds=3600, sealing_key=KEY)
    first, second = signed_in(sessions), signed_in(sessions)
    moved = store.find(KIND, second)
    assert moved is not None
    store.upsert(KIND, second, {**moved, "upstream": store.find(KIND, first)["upstream"]}, 600)  # type: ignore[index]
    assert sessions.get(second).upstream == {}  # type: ignore[union-attr]
    other_kek = SessionStore(store, idle_seconds=600, absolute_seconds=3600, sealing_key=derive_session_key(b"o" * 32))
    assert other_kek.get(first).upstream == {}  # type: ignore[union-attr]


def test_without_a_key_the_upstream_record_is_not_kept() -> None:
    store = MemoryStore()
    sessions = SessionStore(store, idle_seconds=600, absolute_seconds=3600)
    session_id = signed_in(sessions)
    assert store.find(KIND, session_id)["upstream"] == {}  # type: ignore[index]
    assert sessions.get(session_id).upstream == {}  # type: ignore[union-attr]

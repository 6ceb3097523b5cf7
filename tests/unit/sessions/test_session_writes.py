"""SSO sessions: saves inside ``writes_deferred`` reach the store once, as their last version."""

from __future__ import annotations

import pytest

from idp.sessions.store import KIND, SessionStore
from idp.storage.ephemeral.memory import MemoryStore


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def upsert(self, kind: str, id: str, value: dict, ttl: int, *, grant_id: str | None = None) -> None:
        self.writes.append(kind)
        super().upsert(kind, id, value, ttl, grant_id=grant_id)


def new_store() -> tuple[CountingStore, SessionStore]:
    store = CountingStore()
    return store, SessionStore(store, idle_seconds=600, absolute_seconds=3600)


def test_a_sign_in_writes_its_session_once_with_the_clients_grant() -> None:
    store, sessions = new_store()
    with sessions.writes_deferred():
        session = sessions.create(subject_id="s1", auth_time=1, acr=None, amr=("pwd",), adapter="local")
        assert sessions.get(session.id) is None and store.writes == []  # nothing written yet
        sessions.save(session.replace(grants={"portal": "g1"}))
    assert store.writes == [KIND]
    stored = sessions.get(session.id)
    assert stored is not None and stored.grants == {"portal": "g1"}


def test_saves_are_written_when_the_block_fails() -> None:
    _, sessions = new_store()
    with pytest.raises(RuntimeError), sessions.writes_deferred():
        session = sessions.create(subject_id="s1", auth_time=1, acr=None, amr=(), adapter="local")
        raise RuntimeError("the page failed after the sign-in")
    assert sessions.get(session.id) is not None


def test_a_session_ended_inside_the_block_is_not_written_back() -> None:
    store, sessions = new_store()
    with sessions.writes_deferred():
        session = sessions.create(subject_id="s1", auth_time=1, acr=None, amr=(), adapter="local")
        sessions.destroy(session.id)
    assert store.writes == [] and sessions.get(session.id) is None


def test_outside_the_block_every_save_is_written() -> None:
    store, sessions = new_store()
    session = sessions.create(subject_id="s1", auth_time=1, acr=None, amr=(), adapter="local")
    sessions.save(session.replace(grants={"portal": "g1"}))
    assert store.writes == [KIND, KIND]

"""SSO sessions in the ephemeral store, with idle and absolute timeouts.

A new session id is issued on every sign-in (no fixation); the idle timeout is the record's TTL,
refreshed on use at most once a minute; the absolute timeout is checked on every read.
Inside ``writes_deferred()`` saves are collected and the last version of each session is written
once when the block ends (a sign-in starts a session and then adds the client's grant to it).
The session's ``upstream`` record (an upstream ID token, for upstream logout) is stored sealed
(:mod:`idp.sessions.sealing`): never readable in Redis or in the process's store.
Every session of one person is indexed under :func:`person_index`, so an administrator can end
them all at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
import time
from collections.abc import Iterator
from typing import Any

from idp.sessions.model import SsoSession
from idp.sessions.sealing import open_upstream, seal_upstream
from idp.storage.ephemeral import EphemeralStore

KIND = "session"
TOUCH_EVERY = 60
_deferred: contextvars.ContextVar[dict[str, SsoSession] | None] = contextvars.ContextVar("idp_sessions", default=None)


def person_index(subject_id: str) -> str:
    """The index under which every session of one person is kept (the store's grant index, with a
    prefix no grant id has), so :meth:`SessionStore.end_all_of` reaches them all."""
    return "person:" + subject_id


class SessionStore:
    def __init__(self, store: EphemeralStore, *, idle_seconds: int, absolute_seconds: int,
                 sealing_key: bytes | None = None) -> None:
        """``sealing_key``: seals each session's upstream record (:func:`derive_session_key`);
        without one, upstream records are not kept at all."""
        self.store = store
        self.idle = idle_seconds
        self.absolute = absolute_seconds
        self._sealing_key = sealing_key

    def create(self, *, subject_id: str, auth_time: int, acr: str | None, amr: tuple[str, ...],
               adapter: str | None, username: str | None = None, previous: SsoSession | None = None,
               policy: dict[str, Any] | None = None) -> SsoSession:
        """Start a new session (destroying ``previous``: a new id on every login)."""
        if previous is not None:
            self.destroy(previous.id)
        now = int(time.time())
        session = SsoSession(
            id=secrets.token_urlsafe(32), sid=secrets.token_urlsafe(16), subject_id=subject_id,
            auth_time=auth_time, created_at=now, last_seen=now, acr=acr, amr=amr, adapter=adapter,
            username=username, policy=policy or {},
        )
        self.save(session)
        return session

    def save(self, session: SsoSession) -> None:
        pending = _deferred.get()
        if pending is not None:
            pending[session.id] = session
            return
        ttl = min(self.idle, max(1, session.created_at + self.absolute - int(time.time())))
        record = session.to_record()
        record["upstream"] = seal_upstream(self._sealing_key, session.id, session.upstream)
        self.store.upsert(KIND, session.id, record, ttl, grant_id=person_index(session.subject_id))

    def _session(self, record: dict[str, Any]) -> SsoSession:
        session = SsoSession.from_record(record)
        return session.replace(upstream=open_upstream(self._sealing_key, session.id, session.upstream))

    @contextlib.contextmanager
    def writes_deferred(self) -> Iterator[None]:
        """Collect the saves made in the block; write each session's last version once at its end
        (also when the block raises: what was saved stays saved)."""
        if _deferred.get() is not None:
            yield
            return
        pending: dict[str, SsoSession] = {}
        token = _deferred.set(pending)
        try:
            yield
        finally:
            _deferred.reset(token)
            for session in pending.values():
                self.save(session)

    def get(self, session_id: str | None) -> SsoSession | None:
        """The live session for a cookie value, or None (expired, ended or unknown)."""
        if not session_id or len(session_id) > 100:
            return None
        record = self.store.find(KIND, session_id)
        if record is None:
            return None
        session = self._session(record)
        now = int(time.time())
        if now >= session.created_at + self.absolute:
            self.destroy(session.id)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            session = session.replace(last_seen=now)
            self.save(session)
        return session

    def of_person(self, subject_id: str) -> list[SsoSession]:
        """Every live session of one person, left as they are (what the provider holds about them)."""
        now = int(time.time())
        return [session for record in self.store.find_by_grant(person_index(subject_id))
                if now < (session := self._session(record)).created_at + self.absolute]

    def end_all_of(self, subject_id: str) -> list[SsoSession]:
        """End every session of one person (an administrator's revocation); the live ones."""
        return [self._session(record) for record in self.store.consume_by_grant(person_index(subject_id))]

    def destroy(self, session_id: str) -> SsoSession | None:
        pending = _deferred.get()
        if pending is not None:
            pending.pop(session_id, None)
        record = self.store.consume(KIND, session_id)
        return self._session(record) if record else None

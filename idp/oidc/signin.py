"""From an adapter's Identity to a signed-in SSO session.

Local accounts are subjects already; every other identity is linked to one local subject
(one person per personal ID number, idp.identity.linking). The session records what actually
happened: the adapter, ``amr`` as reported and the local ``acr`` that policies mapped.
"""

from __future__ import annotations

from typing import Any

from adapters.base import Identity
from idp.audit.events import AuditLog
from idp.identity.linking import link_identity, linked_subject
from idp.identity.protection import IdentityKeys
from idp.oidc.session_bridge import SessionBridge
from idp.sessions import SessionStore, SsoSession
from idp.storage.sql import SqlStorage

LOCAL_ADAPTER_TYPES = frozenset({"local"})


class SignIns:
    """Turns a verified identity into the local subject and a new SSO session."""

    def __init__(self, *, storage: SqlStorage, identity_keys: IdentityKeys, audit: AuditLog,
                 sessions: SessionStore, session_bridge: SessionBridge) -> None:
        self._storage = storage
        self._keys = identity_keys
        self._audit = audit
        self._sessions = sessions
        self._bridge = session_bridge

    def subject_for(self, identity: Identity, adapter_type: str) -> str:
        """The local subject id of the identity (created or linked on first sign-in); the claims its
        source owns are replaced by what it says at this sign-in."""
        if adapter_type in LOCAL_ADAPTER_TYPES:
            return identity.subject
        # roles travel as the vn_official claim vn_roles (linking.identity_claims)
        subject = link_identity(self._storage, identity, hash_key=self._keys.hash_key, enc_key=self._keys.enc_key,
                                audit=self._audit)
        return subject.id

    def known_subject(self, identity: Identity, adapter_type: str) -> str | None:
        """The local subject id of the identity when the person is known, read without writing
        (the sign-in links them, once: :meth:`subject_for`); None for someone never seen."""
        if adapter_type in LOCAL_ADAPTER_TYPES:
            return identity.subject
        return linked_subject(self._storage, identity, hash_key=self._keys.hash_key)

    def source_accounts(self, subject_id: str) -> dict[str, str]:
        """The person's accounts at the sources they signed in with: adapter id -> the source's
        identifier (``Identity.subject``), e.g. for asking a directory about them again."""
        return {link.adapter: link.external_subject for link in self._storage.links.list_for_subject(subject_id)}

    def start_session(self, identity: Identity, subject_id: str, acr: str | None, previous: SsoSession | None, *,
                      policy: dict[str, Any] | None = None) -> SsoSession:
        """A new session (new id: no fixation). Signing in as the same person keeps the grants map,
        so logout still reaches every client of the earlier sign-in."""
        carried = previous.grants if previous is not None and previous.subject_id == subject_id else {}
        if previous is not None and previous.subject_id != subject_id:
            self._bridge.end_session(previous)
            previous = None
        session = self._sessions.create(
            subject_id=subject_id, auth_time=identity.auth_time, acr=acr, amr=tuple(identity.amr),
            adapter=identity.adapter_id, username=str(identity.claims.get("preferred_username") or "") or None,
            previous=previous, policy=policy,
        )
        if carried:
            session = session.replace(grants=dict(carried))
            self._sessions.save(session)
        return session

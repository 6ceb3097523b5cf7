"""Where the SSO session meets the token side: a code issued in a session joins that session's
grant for the client; logging out ends the session and revokes its grants."""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from idp.oidc.codes import AuthorizationCode, CodeStore
from idp.oidc.revocation import GrantRevoker
from idp.sessions import SessionStore, SsoSession
from idp.storage.sql import SqlStorage


class CodeRequest(Protocol):
    """What a code keeps of the authorization request (a validated AuthorizationRequest)."""

    @property
    def client_id(self) -> str: ...
    @property
    def redirect_uri(self) -> str: ...
    @property
    def code_challenge(self) -> str: ...
    @property
    def nonce(self) -> str | None: ...
    @property
    def claims(self) -> dict[str, Any]: ...


class LogoutNotifier(Protocol):
    def notify(self, session: SsoSession, client_ids: list[str]) -> int: ...


class SessionBridge:
    def __init__(self, *, storage: SqlStorage, sessions: SessionStore, codes: CodeStore, grants: GrantRevoker,
                 logout_notifier: LogoutNotifier | None) -> None:
        self._storage = storage
        self._sessions = sessions
        self._codes = codes
        self._grants = grants
        self._notifier = logout_notifier

    def issue_code(self, request: CodeRequest, session: SsoSession, *, scopes: tuple[str, ...],
                   released_claims: tuple[str, ...], acr: str, amr: tuple[str, ...], auth_time: int,
                   acting_for: dict[str, Any] | None = None) -> str:
        """A code for what the policy released and the sign-in actually achieved. The session's
        grant for this client is reused while it lives; one revoked (a reused refresh token, a
        replayed code) or expired is replaced, so the new code's tokens work."""
        grant_id = session.grants.get(request.client_id)
        if grant_id is not None:
            grant = self._storage.grants.get(grant_id)  # None: no refresh token yet, nothing stored
            if grant is not None and not grant.active:
                grant_id = None
            elif grant is not None and grant.claims.get("acting_for") != acting_for:
                # Another choice of whom the person acts for (idp.oidc.acting): a grant of its own,
                # and the previous one ends (its refresh tokens speak for the other principal).
                self._grants.revoke_grant(grant_id, "acting_changed")
                grant_id = None
        grant_id = grant_id or secrets.token_urlsafe(16)
        code = AuthorizationCode(
            client_id=request.client_id, redirect_uri=request.redirect_uri, scopes=scopes,
            code_challenge=request.code_challenge, subject_id=session.subject_id, grant_id=grant_id,
            sid=session.sid, auth_time=auth_time, acr=acr, amr=amr, nonce=request.nonce, claims=request.claims,
            released_claims=released_claims, acting_for=acting_for,
        )
        if session.grants.get(request.client_id) != grant_id:
            self._sessions.save(session.replace(grants={**session.grants, request.client_id: grant_id}))
        return self._codes.issue(code)

    def end_session(self, session: SsoSession) -> list[str]:
        """Log out: end the SSO session and revoke every grant issued in it; return the clients.
        Clients with a back-channel logout URI are told in the background (OIDC Back-Channel
        Logout 1.0)."""
        self._sessions.destroy(session.id)
        for grant_id in session.grants.values():
            self._grants.revoke_grant(grant_id, "logout")
        if self._notifier is not None:
            self._notifier.notify(session, sorted(session.grants))
        return sorted(session.grants)

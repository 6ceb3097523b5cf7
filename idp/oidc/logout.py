"""RP-Initiated Logout 1.0 as the provider core answers it: which client asks, whether its
``id_token_hint`` names the signed-in person, ending the SSO session (its grants revoked and the
``logout`` event committed together), and the way through an upstream's own logout and back.

The HTTP side (idp.endpoints.logout) parses, asks here and renders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.adapter_set import AdapterSet
from adapters.base import RedirectAdapter, UpstreamLogout
from idp.audit.events import AuditContext
from idp.errors import OAuthError, PageError
from idp.oidc.hints import IdTokenHints, audiences
from idp.oidc.session_bridge import SessionBridge
from idp.sessions import SsoSession
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client
from idp.storage.sql import SqlStorage

RETURN_KIND = "logout_return"
RETURN_TTL = 600


class _Clients(Protocol):
    def find_client(self, client_id: str | None) -> Client | None: ...


class _Recorder(Protocol):
    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...


@dataclass(frozen=True)
class LogoutRequest:
    """A checked logout request: the client it names (if any), the verified hint's claims (if
    any) and where to send the browser afterwards (``post_logout_redirect_uri``, registered)."""

    client: Client | None
    hint: dict[str, Any] | None
    target: str | None

    @property
    def client_id(self) -> str | None:
        return self.client.client_id if self.client else None

    @property
    def client_name(self) -> str | None:
        return self.client.name if self.client else None


class Logouts:
    def __init__(self, *, issuer: str, storage: SqlStorage, ephemeral: EphemeralStore, clients: _Clients,
                 hints: IdTokenHints, bridge: SessionBridge, adapters: AdapterSet, audit: _Recorder) -> None:
        self._issuer = issuer
        self._storage = storage
        self._ephemeral = ephemeral
        self._clients = clients
        self._hints = hints
        self._bridge = bridge
        self._adapters = adapters
        self._audit = audit

    def check(self, params: dict[str, str]) -> LogoutRequest:
        """The request's client and hint; a page (never a redirect, §3) when the hint is not ours or
        names another client, the client is unknown, or the post-logout URI is not registered."""
        hint_claims = None
        if "id_token_hint" in params:
            try:
                hint_claims = self._hints.verify(params["id_token_hint"])
            except OAuthError:
                raise PageError("invalid_request", detail="id_token_hint") from None
        client_id = params.get("client_id")
        if hint_claims is not None:
            auds = audiences(hint_claims)
            if client_id and client_id not in auds:
                raise PageError("invalid_request", detail="client_id")
            client_id = client_id or (auds[0] if len(auds) == 1 else None)
        client = self._clients.find_client(client_id) if client_id else None
        if client_id and client is None:
            raise PageError("unknown_client")
        target = params.get("post_logout_redirect_uri")
        if target and (client is None or target not in client.post_logout_redirect_uris):
            raise PageError("redirect_uri_mismatch")
        return LogoutRequest(client, hint_claims, target)

    def names_session(self, checked: LogoutRequest, session: SsoSession) -> bool:
        """Whether the request's hint names the person of ``session`` (then no confirmation is asked)."""
        return (checked.hint is not None and checked.client is not None
                and self._hints.names_session(checked.hint, checked.client, session))

    def end(self, session: SsoSession, checked: LogoutRequest, context: AuditContext) -> None:
        """End the session and revoke every grant issued in it; the revocations and the ``logout``
        event commit together."""
        with self._storage.db.transaction():
            clients = self._bridge.end_session(session)
            self._audit.record("logout", context=context, subject=session.subject_id, client_id=checked.client_id,
                               details={"clients": clients, "sid": session.sid})

    def upstream(self, session: SsoSession | None, target: str | None,
                 client_name: str | None) -> UpstreamLogout | None:
        """How to end the upstream (national e-ID) session of ``session`` too, returning to
        ``/logout/return/{token}`` (which goes on to ``target``). An adapter's GET request that
        would carry ``id_token_hint`` in its URL is not made."""
        upstream = session.upstream if session else {}
        if not upstream.get("logout"):
            return None
        entry = next((e for e in self._adapters.entries if e.id == upstream.get("adapter")), None)
        if entry is None or not isinstance(entry.adapter, RedirectAdapter):
            return None
        token = secrets.token_urlsafe(16)
        self._ephemeral.upsert(RETURN_KIND, token, {"target": target, "client_name": client_name}, RETURN_TTL)
        try:
            request = entry.adapter.logout_request(upstream["logout"], f"{self._issuer}/logout/return/{token}")
        except Exception:  # an upstream we cannot reach must not stop the local logout
            return None
        if request is None or (request.method != "POST" and "id_token_hint" in request.params):
            return None
        return request

    def returned(self, token: str) -> dict[str, Any] | None:
        """What was kept for the way back from the upstream's logout (used once), or None."""
        return self._ephemeral.consume(RETURN_KIND, token) if len(token) < 64 else None

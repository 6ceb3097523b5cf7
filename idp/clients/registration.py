"""Dynamic client registration (RFC 7591) and its management (RFC 7592) as the provider answers
them: the initial access token spent only with a stored client, the registration access token
checked for each read, update and removal, and every change audited. The protocol's rules (which
metadata, what the token allows, the response) are :mod:`idp.specs.rfc7591_registration`'s; the
HTTP side (idp.endpoints.registration) parses and renders."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

from idp.audit.events import AuditContext, AuditLog
from idp.clients.metadata import InvalidClientMetadata, is_disabled
from idp.clients.service import check_client, register_client, remove_client
from idp.errors import OAuthError
from idp.settings import Settings
from idp.specs.rfc7591_registration import (
    ALLOWS,
    RAT_HASH,
    InitialAccessTokens,
    check_registration_access_token,
    registration_options,
    registration_response,
    token_hash,
)
from idp.storage.models import Client
from idp.storage.sql import SqlStorage


class _Recorder(Protocol):
    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...


def unauthorized(description: str) -> OAuthError:
    """``invalid_token`` (401) with its ``WWW-Authenticate`` challenge (RFC 6750 §3)."""
    return OAuthError("invalid_token", description, status_code=401,
                      headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'})


class ClientRegistration:
    def __init__(self, *, settings: Settings, storage: SqlStorage, audit: AuditLog, recorder: _Recorder,
                 scopes_supported: tuple[str, ...], signing_algs: Callable[[], list[str]],
                 forget_client: Callable[[str], None]) -> None:
        self._settings = settings
        self._issuer = settings.issuer
        self._storage = storage
        self._tokens = InitialAccessTokens(storage.db)
        self._audit = audit
        self._recorder = recorder
        self._scopes = set(scopes_supported)
        self._signing_algs = signing_algs
        self._forget = forget_client

    def initial_token_valid(self, token: str) -> bool:
        """Whether ``token`` is an initial access token that may still register a client."""
        return self._tokens.is_valid(token)

    def _options(self, metadata: Any, allows: frozenset[str]) -> dict[str, Any]:
        return registration_options(metadata, self._settings, scopes_supported=self._scopes,
                                    signing_algs=self._signing_algs(), allows=allows)

    def register(self, metadata: Any, initial_token: str) -> dict[str, Any]:
        """Register a client (RFC 7591 §3.2.1 response, with its secret and registration access
        token); the token's use is spent only with a stored client."""
        options = self._options(metadata, self._tokens.allowances(initial_token))
        access_token = secrets.token_urlsafe(32)
        options["extra"][RAT_HASH] = token_hash(access_token)
        try:
            with self._storage.db.transaction():
                label = self._tokens.use(initial_token)
                if label is None:
                    raise unauthorized("a valid initial access token is required")
                client, secret = register_client(self._storage, "dcr-" + secrets.token_urlsafe(12),
                                                 audit=self._audit, actor=f"registration:{label}", **options)
        except InvalidClientMetadata as exc:
            raise OAuthError("invalid_client_metadata", str(exc)) from None
        return registration_response(client, self._issuer, secret=secret, access_token=access_token)

    def managed(self, client_id: str, access_token: str | None) -> Client:
        """The client ``access_token`` manages (RFC 7592 §3); ``invalid_token`` otherwise."""
        client = self._storage.clients.get(client_id) if len(client_id) <= 255 else None
        if client is not None and is_disabled(client.extra):  # an administrator disabled it
            client = None
        if client is None or not check_registration_access_token(client, access_token):
            raise unauthorized("the registration access token is not valid for this client")
        return client

    def read(self, client: Client) -> dict[str, Any]:
        return registration_response(client, self._issuer)

    def replace(self, client: Client, metadata: Any) -> dict[str, Any]:
        """RFC 7592 §2.2: the client's metadata replaced, within what its initial access token
        allowed, checked as every registration is; the same authentication method."""
        if not isinstance(metadata, dict) or metadata.get("client_id") != client.client_id \
                or "client_secret" in metadata:
            raise OAuthError("invalid_client_metadata", "client_id must be sent and match; client_secret cannot be set")
        allows = frozenset(client.extra.get(ALLOWS) or ())  # what its initial access token allowed, no more
        options = self._options(metadata, allows)
        if options["auth_method"] != client.auth_method:
            raise OAuthError("invalid_client_metadata", "token_endpoint_auth_method cannot change")

        def apply(current: Client) -> Client:  # the same check as every registration (rolls back)
            return check_client(current.replace(
                name=options["name"] or current.name, redirect_uris=tuple(options["redirect_uris"]),
                post_logout_redirect_uris=tuple(options["post_logout_redirect_uris"]),
                grant_types=tuple(options["grant_types"]), scopes=options["scopes"],
                extra={**options["extra"], RAT_HASH: current.extra[RAT_HASH]}))

        try:
            with self._storage.db.transaction():
                updated = self._storage.clients.update(client.client_id, apply)
                self._recorder.record("client.changed", client_id=client.client_id, details={"actor": "registration"})
        except InvalidClientMetadata as exc:
            raise OAuthError("invalid_client_metadata", str(exc)) from None
        self._forget(client.client_id)
        return registration_response(updated, self._issuer)

    def delete(self, client: Client) -> None:
        """RFC 7592 §2.3: the client removed with its consents and grants (audited)."""
        remove_client(self._storage, client.client_id, audit=self._audit, actor="registration")
        self._forget(client.client_id)

"""Registering relying parties (the ``idp clients`` command, dynamic registration and its updates),
all through one check of the complete client (:func:`check_client`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idp.audit.events import AuditEvent, AuditLog
from idp.audit.sql import SqlAuditLog
from idp.audit.types import CLIENT_CREATED, CLIENT_REMOVED
from idp.clients.metadata import (
    MISSING_KEYS,
    SECRET_AUTH_METHODS,
    InvalidClientMetadata,
    check_auth_method,
    check_grant_types,
    check_uri_list,
)
from idp.clients.secrets import generate_secret, hash_secret
from idp.specs.profile import restricted_scope_refusal
from idp.storage.models import Client
from idp.storage.sql import SqlStorage

DEFAULT_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")


def register_client(
    storage: SqlStorage,
    client_id: str,
    *,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    auth_method: str = "client_secret_basic",
    secret: str | None = None,
    grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
    scopes: Sequence[str] = DEFAULT_SCOPES,
    name: str | None = None,
    trusted: bool = False,
    extra: dict[str, Any] | None = None,
    audit: AuditLog | None = None,
    actor: str | None = None,
) -> tuple[Client, str | None]:
    """Validate and store a client; return it with its secret in clear (generated when not given).

    A ``client.created`` event is recorded in the same transaction (``actor``: who did it).
    """
    if auth_method == "none" and secret:
        raise InvalidClientMetadata("a public client has no secret")
    clear_secret = None
    if auth_method in SECRET_AUTH_METHODS:
        clear_secret = secret or generate_secret()
        if len(clear_secret) < 32:
            raise InvalidClientMetadata("a client secret must have at least 32 characters")
    client = check_client(Client(
        client_id=client_id,
        name=name or client_id,
        auth_method=auth_method,
        redirect_uris=tuple(redirect_uris),
        post_logout_redirect_uris=tuple(post_logout_redirect_uris),
        grant_types=tuple(grant_types),
        scopes=tuple(dict.fromkeys(scopes)),
        secret_hash=hash_secret(clear_secret) if clear_secret else None,
        trusted=trusted,
        extra=extra or {},
    ))
    grants, uris = client.grant_types, client.redirect_uris
    audit = audit or SqlAuditLog(storage.db)
    with storage.db.transaction():
        stored = storage.clients.add(client)
        audit.record(AuditEvent(
            type=CLIENT_CREATED, client_id=client_id,
            details={"actor": actor, "auth_method": auth_method, "grant_types": list(grants),
                     "redirect_uris": list(uris), "scopes": list(client.scopes), "trusted": trusted},
        ))
    return stored, clear_secret


def check_client(client: Client) -> Client:
    """The client as stored, once it passes the rules every registration path shares (``idp clients
    add``, RFC 7591 registration and RFC 7592 updates): identifier, authentication method, grant
    types, exact redirect and post-logout redirect URIs, and the strict profile of restricted scopes
    (:func:`idp.specs.profile.restricted_scope_refusal`); InvalidClientMetadata naming the rule."""
    client_id = client.client_id
    if not client_id or len(client_id) > 255 or not client_id.isprintable() or " " in client_id:
        raise InvalidClientMetadata("client_id must be 1-255 printable characters without spaces")
    check_auth_method(client.auth_method)
    grants = check_grant_types(client.grant_types)
    uris = check_uri_list(client.redirect_uris, "redirect_uri")
    if "authorization_code" in grants and not uris:
        raise InvalidClientMetadata("a client using authorization_code needs at least one redirect_uri")
    if client.auth_method == "none" and "client_credentials" in grants:
        raise InvalidClientMetadata("a public client cannot use client_credentials")
    if client.auth_method == "private_key_jwt" and client.extra.get("jwks") is None \
            and client.extra.get("jwks_uri") is None:
        raise InvalidClientMetadata(MISSING_KEYS)
    why = restricted_scope_refusal(client.scopes, client.auth_method, client.extra)
    if why:
        raise InvalidClientMetadata(why)
    return client.replace(grant_types=grants, redirect_uris=uris, scopes=tuple(dict.fromkeys(client.scopes)),
                          post_logout_redirect_uris=check_uri_list(client.post_logout_redirect_uris,
                                                                   "post_logout_redirect_uri"))


def remove_client(storage: SqlStorage, client_id: str, *, audit: AuditLog | None = None,
                  actor: str | None = None) -> bool:
    """Remove a client with its consents and grants, recording ``client.removed`` in the same
    transaction; False when there was no such client."""
    audit = audit or SqlAuditLog(storage.db)
    with storage.db.transaction():
        removed = storage.clients.remove(client_id)
        if removed:
            audit.record(AuditEvent(type=CLIENT_REMOVED, client_id=client_id, details={"actor": actor}))
    return removed


def client_as_json(client: Client, secret: str | None = None) -> dict[str, Any]:
    """The client's public description (what ``idp clients show`` prints)."""
    body = {
        "client_id": client.client_id,
        "client_name": client.name,
        "token_endpoint_auth_method": client.auth_method,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "scope": " ".join(client.scopes),
        "trusted": client.trusted,
        **{k: v for k, v in client.extra.items() if not k.endswith("_hash")},  # never a secret's hash
    }
    if secret:
        body["client_secret"] = secret
    return body

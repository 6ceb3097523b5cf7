"""Changing a registered relying party: its metadata (names, redirect URIs, grant types, scopes,
keys), its state (disabled or not) and its secret. ``idp clients update|set-jwks|disable|enable|
rotate-secret`` and the admin API call these, so both apply the same rules.

Every change goes through :func:`idp.clients.service.check_client` and, when keys or the
authentication method are involved, :func:`idp.clients.metadata.check_key_metadata`, inside the
compare-and-swap update of the client row: a refused change raises InvalidClientMetadata and
nothing is written. Each change records ``client.changed`` in the same transaction with who did it
and the fields before and after (the public description of :func:`client_as_json`, so never a
secret or its hash).

A disabled client (``extra["disabled"] = true``) is unknown to the protocol endpoints
(:meth:`idp.oidc.client_directory.ClientDirectory.find_client`): no authorization, no token, no
registration management, until it is enabled again. Other replicas notice within the client
cache's few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idp.audit.events import AuditContext, AuditEvent, AuditLog
from idp.audit.sql import SqlAuditLog
from idp.audit.types import CLIENT_CHANGED
from idp.clients.metadata import (
    DISABLED,
    SECRET_AUTH_METHODS,
    InvalidClientMetadata,
    check_key_metadata,
    is_disabled,
)
from idp.clients.secrets import generate_secret, hash_secret
from idp.clients.service import check_client, client_as_json
from idp.errors import NotFound
from idp.oidc.portal_claims import METADATA as CLAIM_NAMES
from idp.oidc.portal_claims import PROFILE as PORTAL_PROFILE
from idp.oidc.portal_claims import PROFILES as CLAIM_NAME_PROFILES
from idp.storage.models import Client
from idp.storage.sql import SqlStorage

__all__ = ["ClientAdministration", "ClientChange", "ClientUpdate", "is_disabled"]

#: Flags of ``Client.extra`` an update may set or clear (anything else in extra is kept as it is).
PROFILE_FLAGS = ("require_pushed_authorization_requests", "strict_profile")


@dataclass(frozen=True)
class ClientUpdate:
    """The fields an administrator changes; None leaves a field as it is.

    ``jwks`` and ``jwks_uri`` replace each other: setting one removes the other; ``clear_keys``
    removes both (refused for a ``private_key_jwt`` client)."""

    name: str | None = None
    redirect_uris: Sequence[str] | None = None
    post_logout_redirect_uris: Sequence[str] | None = None
    grant_types: Sequence[str] | None = None
    scopes: Sequence[str] | None = None
    trusted: bool | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    clear_keys: bool = False
    require_pushed_authorization_requests: bool | None = None
    strict_profile: bool | None = None
    #: ``dvcqg``: also the national portal's claim names; ``standard``: only the standard ones.
    claim_names: str | None = None

    def is_empty(self) -> bool:
        return self == ClientUpdate()

    def apply(self, client: Client) -> Client:
        """``client`` with these changes (not yet checked)."""
        changes: dict[str, Any] = {}
        for name in ("name", "redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value if name == "name" else tuple(value)
        if self.trusted is not None:
            changes["trusted"] = self.trusted
        extra = dict(client.extra)
        if self.clear_keys or self.jwks is not None or self.jwks_uri is not None:
            extra.pop("jwks", None)
            extra.pop("jwks_uri", None)
        if self.jwks is not None:
            extra["jwks"] = self.jwks
        if self.jwks_uri is not None:
            extra["jwks_uri"] = self.jwks_uri
        for flag in PROFILE_FLAGS:
            value = getattr(self, flag)
            if value is True:
                extra[flag] = True
            elif value is False:
                extra.pop(flag, None)
        if self.claim_names is not None:
            if self.claim_names not in CLAIM_NAME_PROFILES:
                raise InvalidClientMetadata(f"claim_names must be one of {', '.join(CLAIM_NAME_PROFILES)}")
            extra.pop(CLAIM_NAMES, None)
            if self.claim_names == PORTAL_PROFILE:
                extra[CLAIM_NAMES] = PORTAL_PROFILE
        return client.replace(**changes, extra=extra)


@dataclass(frozen=True)
class ClientChange:
    """A change made: the client before and after (``secret``: a new secret in clear, shown once)."""

    before: Client
    after: Client
    secret: str | None = None


class ClientAdministration:
    """The administrator's changes to relying parties, audited with ``actor`` (who did it)."""

    def __init__(self, storage: SqlStorage, *, allow_loopback: bool, audit: AuditLog | None = None,
                 forget: Callable[[str], None] | None = None) -> None:
        """``allow_loopback``: whether a loopback ``jwks_uri`` may be registered (the settings'
        ``allow_loopback_client_urls``); ``forget``: drops a cached copy after a change (the
        server's client directory)."""
        self.storage = storage
        self.allow_loopback = allow_loopback
        self.audit = audit or SqlAuditLog(storage.db)
        self._forget = forget

    def get(self, client_id: str) -> Client:
        client = self.storage.clients.get(client_id) if len(client_id) <= 255 else None
        if client is None:
            raise NotFound(f"no client {client_id!r}")
        return client

    def update(self, client_id: str, update: ClientUpdate, *, actor: str, context: AuditContext | None = None
               ) -> ClientChange:
        """Apply ``update`` with the checks of a registration; InvalidClientMetadata when refused."""
        if update.is_empty():
            raise InvalidClientMetadata("nothing to change")
        keys_touched = update.clear_keys or update.jwks is not None or update.jwks_uri is not None

        def change(current: Client) -> Client:
            changed = check_client(update.apply(current))
            if keys_touched or changed.auth_method == "private_key_jwt":
                check_key_metadata(changed.auth_method, changed.extra, allow_loopback=self.allow_loopback)
            return changed

        return self._change(client_id, change, "client.updated", actor=actor, context=context)

    def set_enabled(self, client_id: str, enabled: bool, *, actor: str, context: AuditContext | None = None
                    ) -> ClientChange:
        """Disable (or enable again) a client; its tokens already issued expire as usual."""
        def change(current: Client) -> Client:
            extra = {k: v for k, v in current.extra.items() if k != DISABLED}
            return current.replace(extra=extra if enabled else {**extra, DISABLED: True})

        return self._change(client_id, change, "client.enabled" if enabled else "client.disabled",
                            actor=actor, context=context)

    def rotate_secret(self, client_id: str, *, actor: str, secret: str | None = None,
                      context: AuditContext | None = None) -> ClientChange:
        """A new client secret (generated unless given, at least 32 characters); the old one stops
        working at once. Refused for clients that do not authenticate with a secret."""
        clear = secret or generate_secret()
        if len(clear) < 32:
            raise InvalidClientMetadata("a client secret must have at least 32 characters")

        def change(current: Client) -> Client:
            if current.auth_method not in SECRET_AUTH_METHODS:
                raise InvalidClientMetadata(
                    f"client {current.client_id!r} authenticates with {current.auth_method}, not a secret")
            return current.replace(secret_hash=hash_secret(clear))

        made = self._change(client_id, change, "client.secret_rotated", actor=actor, context=context)
        return ClientChange(before=made.before, after=made.after, secret=clear)

    def _change(self, client_id: str, change: Callable[[Client], Client], action: str, *, actor: str,
                context: AuditContext | None) -> ClientChange:
        self.get(client_id)  # NotFound before anything else
        seen: list[Client] = []

        def updater(current: Client) -> Client:
            seen[:] = [current]
            return change(current)

        with self.storage.db.transaction():
            after = self.storage.clients.update(client_id, updater)
            before = seen[0]
            details: dict[str, Any] = {"action": action, "actor": actor, **difference(before, after)}
            if before.secret_hash != after.secret_hash:
                details["secret_changed"] = True
            self.audit.record(AuditEvent(type=CLIENT_CHANGED, client_id=client_id, details=details,
                                         context=context or AuditContext()))
        if self._forget is not None:
            self._forget(client_id)
        return ClientChange(before=before, after=after)


def difference(before: Client, after: Client) -> dict[str, Mapping[str, Any]]:
    """``{"before": {...}, "after": {...}}`` with only the public fields that changed."""
    old, new = client_as_json(before), client_as_json(after)
    names = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    return {"before": {k: old.get(k) for k in names}, "after": {k: new.get(k) for k in names}}

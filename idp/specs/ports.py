"""What the spec modules need from the provider core, as protocols (the compose step, idp.app,
passes the services that satisfy them). Spec modules translate authlib's request objects into the
plain values these take; the core never sees authlib."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from idp.audit.events import AuditContext
from idp.oidc.codes import AuthorizationCode
from idp.oidc.records import AccessTokenRecord, RefreshTokenRecord
from idp.oidc.tokens import Authorization
from idp.settings import Settings
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client


class ClientFinder(Protocol):
    def find_client(self, client_id: str | None) -> Client | None: ...


class Recorder(Protocol):
    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...


class ClientKeyVerifier(Protocol):
    def verify(self, client: Client, token: str, *, algorithms: Sequence[str],
               typ: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]: ...


class CodeRedeeming(Protocol):
    def redeem_code(self, value: str, client_id: str,
                    context: AuditContext | None = None) -> AuthorizationCode | None: ...


class TokenIssuing(Protocol):
    def generate_token(self, client: Client, user: Authorization | None, scope: str | None, *,
                       include_refresh_token: bool = True, dpop_jkt: str | None = None,
                       successor: str | None = None) -> dict[str, Any]: ...

    def save_token(self, token: dict[str, Any], *, client: Client, authorization: Authorization | None,
                   grant_type: str, successor: str | None, dpop_jkt: str | None,
                   context: AuditContext | None) -> None: ...

    def issue_id_token(self, authorization: Authorization, client: Client, access_token: str | None) -> str: ...


class RefreshRotating(Protocol):
    def use_refresh_token(self, value: str, client: Client, *, dpop_jkt: str | None = None,
                          context: AuditContext | None = None) -> RefreshTokenRecord | None: ...

    def restore(self, record: RefreshTokenRecord) -> None:
        """Undo the rotation of ``record`` when its response failed to leave (see RefreshRotator)."""


class TokenFinding(Protocol):
    def find_token(self, value: str, hint: str | None = None) -> AccessTokenRecord | RefreshTokenRecord | None: ...

    def revoke_token(self, token: AccessTokenRecord | RefreshTokenRecord,
                     context: AuditContext | None = None) -> None: ...


class RequestObjectContext(Protocol):
    """What verifying a request object (RFC 9101) needs."""

    @property
    def issuer(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def client_keys(self) -> ClientKeyVerifier: ...


class ClientAuthenticator(Protocol):
    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> Any: ...


class PushedRequestContext(RequestObjectContext, Protocol):
    """What pushing (RFC 9126) and resolving /authorize's parameters need."""

    @property
    def ephemeral(self) -> EphemeralStore: ...
    @property
    def scopes_supported(self) -> tuple[str, ...]: ...
    @property
    def server(self) -> ClientAuthenticator: ...

    def find_client(self, client_id: str | None) -> Client | None: ...

    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None: ...

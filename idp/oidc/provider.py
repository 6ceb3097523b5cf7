"""The OpenID Provider: the one object the HTTP endpoints hold.

It owns no HTTP and no logic of its own: the compose step (:func:`idp.server.open_provider`)
builds every collaborator through its constructor and hands them here; the members below keep the
endpoints' view stable and delegate to the narrow services that do the work
(:class:`~idp.oidc.client_directory.ClientDirectory`, :class:`~idp.oidc.session_bridge.SessionBridge`,
:class:`~idp.oidc.client_policies.ClientPolicies`, :class:`~idp.oidc.revocation.GrantRevoker`,
:class:`~idp.oidc.person_claims.PersonClaims`; the token side's services are the spec modules'
ports, reached through :attr:`server`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.adapter_set import AdapterSet
from idp.audit.events import AuditContext, AuditLog
from idp.clients.jwks import ClientKeys
from idp.identity.protection import IdentityKeys
from idp.mfa.totp import TotpService
from idp.oidc.client_directory import ClientDirectory
from idp.oidc.client_policies import ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID, ClientPolicies
from idp.oidc.codes import CodeStore
from idp.oidc.interaction import InteractionStore
from idp.oidc.person_claims import PersonClaims
from idp.oidc.revocation import GrantRevoker
from idp.oidc.session_bridge import SessionBridge
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.oidc.token_lookup import MAX_TOKEN_CHARS, is_access_token_shaped
from idp.oidc.tokens import TokenService
from idp.security.throttle import Throttle
from idp.sessions import SessionStore
from idp.settings import Settings
from idp.storage.ephemeral import EphemeralStore
from idp.storage.models import Client
from idp.storage.sql import SqlStorage
from keys.ring import KeyRing
from policies.policy_set import PolicySet

if TYPE_CHECKING:
    from idp.audit.search import AuditSearch
    from idp.clients.registration import ClientRegistration
    from idp.oidc.backchannel import BackchannelLogout
    from idp.oidc.flow import AuthorizationFlow
    from idp.oidc.flow.certificate import CertificateStep
    from idp.oidc.flow.chip import ChipStep
    from idp.oidc.logout import Logouts
    from idp.pki.documents import SignatureVerifier
    from idp.specs.oauth_server import OAuthServer
    from idp.specs.rfc9449_dpop import DpopVerifier

__all__ = ["ACCOUNT_CLIENT_ID", "CONSOLE_CLIENT_ID", "MAX_TOKEN_CHARS", "RESTRICTED_SCOPES", "Provider",
           "ProviderParts", "is_access_token_shaped"]

RESTRICTED_SCOPES = ("vn_id", "vn_eid", "vn_org", "vn_official", "vn_cert")


@dataclass(frozen=True)
class ProviderParts:
    """Every collaborator of :class:`Provider`, built by the compose step."""

    settings: Settings
    storage: SqlStorage
    ephemeral: EphemeralStore
    ring: KeyRing
    audit: AuditLog
    adapters: AdapterSet
    policies: ClientPolicies
    throttle: Throttle
    totp: TotpService
    identity_keys: IdentityKeys
    subject_ids: SubjectIdentifiers
    tokens: TokenService
    codes: CodeStore
    sessions: SessionStore
    interactions: InteractionStore
    clients: ClientDirectory
    grants: GrantRevoker
    person_claims: PersonClaims
    session_bridge: SessionBridge
    client_keys: ClientKeys
    dpop: DpopVerifier
    backchannel: BackchannelLogout
    server: OAuthServer
    flow: AuthorizationFlow
    logouts: Logouts
    audit_search: AuditSearch
    registration: ClientRegistration
    scopes_supported: tuple[str, ...]
    acr_values_supported: tuple[str, ...]
    chip: ChipStep | None = None  # eKYC with the chip ID card, when a cccd-chip adapter is configured
    signatures: SignatureVerifier | None = None  # the signature verification service (idp/pki)
    certificate: CertificateStep | None = None  # certificate sign-in, when a certificate adapter is configured


class Provider:
    def __init__(self, parts: ProviderParts) -> None:
        self.settings = parts.settings
        self.issuer = parts.settings.issuer
        self.storage = parts.storage
        self.ephemeral = parts.ephemeral
        self.ring = parts.ring
        self.audit = parts.audit
        self.adapters = parts.adapters
        self.client_policies = parts.policies
        self.throttle = parts.throttle
        self.totp = parts.totp
        self.identity_keys = parts.identity_keys
        self.subject_ids = parts.subject_ids
        self.tokens = parts.tokens
        self.codes = parts.codes
        self.sessions = parts.sessions
        self.interactions = parts.interactions
        self.client_directory = parts.clients
        self.grants = parts.grants
        self.person_claims = parts.person_claims
        self.session_bridge = parts.session_bridge
        self.client_keys = parts.client_keys
        self.dpop = parts.dpop
        self.backchannel = parts.backchannel
        self.server = parts.server
        self.flow = parts.flow
        self.logouts = parts.logouts
        self.audit_search = parts.audit_search
        self.registration = parts.registration
        self.scopes_supported = parts.scopes_supported
        self.restricted_scopes: tuple[str, ...] = RESTRICTED_SCOPES
        self.acr_values_supported = parts.acr_values_supported
        self.chip = parts.chip
        self.signatures = parts.signatures
        self.certificate = parts.certificate
        self.demo_client_secrets: dict[str, str] = {}

    def close(self) -> None:
        """Stop what the compose step started: back-channel deliveries (pending ones are dropped),
        the key ring, the audit log's writer and the adapters. The stores stay open (the runtime's)."""
        self.backchannel.close()
        self.ring.close()
        close_audit = getattr(self.audit, "close", None)  # the SQL log's group-commit writer
        if close_audit is not None:
            close_audit()
        self.adapters.close()

    # -- clients ---------------------------------------------------------------------------------
    def find_client(self, client_id: str | None) -> Client | None:
        """The client, from a cache of a few seconds (see :class:`ClientDirectory`)."""
        return self.client_directory.find_client(client_id)

    def cached_client(self, client_id: str | None) -> Client | None:
        """The client if a fresh copy is cached (no I/O), else None."""
        return self.client_directory.cached_client(client_id)

    def forget_client(self, client_id: str) -> None:
        """Drop the cached copy after the client changed (registration update, removal)."""
        self.client_directory.forget_client(client_id)

    @property
    def policies(self) -> PolicySet:
        return self.client_policies.policies

    # -- audit -----------------------------------------------------------------------------------
    def record(self, event_type: str, *, context: AuditContext | None = None, **fields: Any) -> None:
        """Record an audit event; ``context`` says where from."""
        self.grants.record(event_type, context=context, **fields)

    def recent_signins(self, subject_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The person's own latest sign-ins from the audit trail (for the account page)."""
        recent = getattr(self.audit, "recent_signins", None)
        return list(recent(subject_id, limit)) if recent else []

    # -- grants ----------------------------------------------------------------------------------
    def revoke_grant(self, grant_id: str, reason: str) -> None:
        """Revoke the grant's refresh tokens and every access token issued under it."""
        self.grants.revoke_grant(grant_id, reason)

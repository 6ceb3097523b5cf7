"""The compose step: every collaborator of the provider built through its constructor, in
dependency order, over the runtime's stores. No collaborator is assigned after construction."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from adapters.registry import load_adapters
from idp.audit.search import AuditSearch
from idp.audit.sequencer import start_sequencer
from idp.audit.setup import attach_key_ring, open_audit_log
from idp.clients.jwks import ClientKeys
from idp.clients.registration import ClientRegistration
from idp.identity.protection import derive_identity_keys
from idp.mfa.passkeys import PasskeyService
from idp.mfa.sealing import derive_factor_key
from idp.mfa.totp import TotpService
from idp.net.outbound import OutboundPolicy
from idp.observability import metrics
from idp.observability.events import EventObserver
from idp.oidc.backchannel import BackchannelLogout
from idp.oidc.claims import STANDARD_SCOPES
from idp.oidc.client_directory import ClientDirectory
from idp.oidc.client_policies import ClientPolicies
from idp.oidc.codes import CodeStore
from idp.oidc.consents import ConsentLedger
from idp.oidc.flow import AuthorizationFlow
from idp.oidc.flow.certificate import open_certificate_step
from idp.oidc.flow.chip import open_chip_step
from idp.oidc.hints import IdTokenHints
from idp.oidc.interaction import InteractionStore
from idp.oidc.issuance import TokenIssuer
from idp.oidc.logout import Logouts
from idp.oidc.person_claims import PersonClaims
from idp.oidc.provider import RESTRICTED_SCOPES, Provider, ProviderParts
from idp.oidc.recheck import DirectoryRecheck
from idp.oidc.redemption import CodeRedeemer
from idp.oidc.revocation import GrantRevoker
from idp.oidc.rotation import RefreshRotator
from idp.oidc.session_bridge import SessionBridge
from idp.oidc.settlement import RotationSettlement
from idp.oidc.signin import SignIns
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.oidc.token_lookup import TokenLookup
from idp.oidc.tokens import TokenService
from idp.pki.documents import SignatureVerifier
from idp.pki.identities import SignerIdentities
from idp.pki.trust import load_trust
from idp.pki.validation import PathValidator
from idp.runtime import Runtime
from idp.security.throttle import Throttle
from idp.sessions import SessionStore
from idp.sessions.sealing import derive_session_key
from idp.specs.oauth_server import OAuthServer
from idp.specs.rfc7523_client_assertion import PrivateKeyJwtAuthentication
from idp.specs.rfc9449_dpop import DpopVerifier
from idp.storage.sql.account_locks import SqlAccountLocks
from idp.storage.sql.factors import SqlFactorStore
from idp.storage.sql.revoked_tokens import SqlRevokedClientTokens
from keys.kek import load_kek
from keys.ring import open_key_ring
from policies import PolicySet
from policies.loa import acr_values_supported


def derive_secret(kek: bytes, label: str) -> bytes:
    """A 32-byte secret for one purpose, derived from the key-encryption key (HMAC-SHA256)."""
    return hmac.new(kek, label.encode(), hashlib.sha256).digest()


def event_observer(runtime: Runtime, adapter_ids: Collection[str]) -> EventObserver | None:
    """What sees every audit event written: the metrics when ``IDP_METRICS_PORT`` is set (with the
    database pool watched too), the log lines when ``IDP_LOG_EVENTS`` is on; None when neither."""
    watched = None
    if runtime.settings.metrics_port is not None:
        watched = metrics.enable()
        metrics.watch_pool(runtime.storage.db.engine, watched)
    if watched is None and not runtime.settings.log_events:
        return None
    return EventObserver(metrics=watched, known_adapters=adapter_ids, log_events=runtime.settings.log_events)


def open_provider(runtime: Runtime) -> Provider:
    """Open keys, audit, adapters and policies over the runtime's stores, and build the services."""
    settings, storage, ephemeral = runtime.settings, runtime.storage, runtime.ephemeral
    issuer = settings.issuer
    adapters = load_adapters(settings, storage=storage, ephemeral=ephemeral)
    trust = load_trust(settings.trust_file)  # a broken trust file stops start-up, naming file, line, field
    audit = open_audit_log(settings, storage.db, observer=event_observer(runtime, adapters.ids))
    audit.enable_batching()
    if settings.audit_sequencer:  # events staged unlinked; this process links them when it holds the lock
        start_sequencer(audit, interval=settings.audit_link_interval_seconds)
    ring = open_key_ring(settings, storage, audit)
    attach_key_ring(audit, ring, settings)
    kek = load_kek(settings, sealed_keys_exist=False)
    salt = (settings.pairwise_salt.get_secret_value().encode() if settings.pairwise_salt
            else derive_secret(kek, "vn-idp pairwise-sub v1"))
    policies = ClientPolicies(adapters, PolicySet.from_folder_or_builtin(settings.policies_dir,
                                                                         known_adapters=adapters.ids))
    identity_keys = derive_identity_keys(kek)
    subject_ids = SubjectIdentifiers(salt, is_public=policies.public_sub)
    tokens = TokenService(issuer=issuer, ring=ring, ephemeral=ephemeral, subject_ids=subject_ids,
                          access_ttl=settings.access_token_ttl_seconds, id_token_ttl=settings.id_token_ttl_seconds,
                          revoked=SqlRevokedClientTokens(storage.db))
    codes = CodeStore(ephemeral, ttl=settings.code_ttl_seconds,
                      redeemed_ttl=settings.code_ttl_seconds + settings.access_token_ttl_seconds)
    sessions = SessionStore(ephemeral, idle_seconds=settings.session_idle_seconds,
                            absolute_seconds=settings.session_absolute_seconds,
                            sealing_key=derive_session_key(kek))
    clients = ClientDirectory(storage.clients)
    grants = GrantRevoker(storage, ephemeral, audit)
    person_claims = PersonClaims(storage, identity_keys)
    client_keys = ClientKeys.from_settings(settings)
    backchannel = BackchannelLogout(settings=settings, issuer=issuer, clients=clients, subject_ids=subject_ids,
                                    ring=ring, recorder=grants)
    recheck = DirectoryRecheck(storage=storage, adapters=adapters, keys=identity_keys, audit=audit, grants=grants,
                               person_claims=person_claims, max_age_seconds=settings.directory_recheck_seconds)
    server = OAuthServer(
        settings=settings, clients=clients, code_redeemer=CodeRedeemer(codes, grants),
        token_issuer=TokenIssuer(storage=storage, ephemeral=ephemeral, tokens=tokens, person_claims=person_claims,
                                 grants=grants, refresh_ttl=settings.refresh_token_ttl_seconds),
        refresh_rotator=RefreshRotator(issuer=issuer, storage=storage, grants=grants, policies=policies,
                                       subject_ids=subject_ids, person_claims=person_claims, recheck=recheck,
                                       settlement=RotationSettlement(storage, ephemeral)),
        token_lookup=TokenLookup(issuer=issuer, storage=storage, tokens=tokens, clients=clients,
                                 subject_ids=subject_ids, grants=grants),
        client_assertions=PrivateKeyJwtAuthentication(issuer=issuer, settings=settings, client_keys=client_keys,
                                                      replays=ephemeral, recorder=grants),
    )
    # With Redis, a lock is also kept in the database: a Redis that lost its data cannot unlock anyone.
    throttle = Throttle.from_settings(settings, ephemeral, audit,
                                      locks=SqlAccountLocks(storage.db) if settings.redis_url else None)
    totp = TotpService(storage, ephemeral, derive_factor_key(kek), audit)
    interactions = InteractionStore(ephemeral)
    session_bridge = SessionBridge(storage=storage, sessions=sessions, codes=codes, grants=grants,
                                   logout_notifier=backchannel)
    hints = IdTokenHints(issuer=issuer, ring=ring, subject_ids=subject_ids)
    scopes_supported = STANDARD_SCOPES + RESTRICTED_SCOPES
    flow = AuthorizationFlow(
        issuer=issuer, clients=clients, policies=policies, interactions=interactions, hints=hints,
        consents=ConsentLedger(storage, grants),
        signins=SignIns(storage=storage, identity_keys=identity_keys, audit=audit, sessions=sessions,
                        session_bridge=session_bridge),
        sessions=sessions, codes=session_bridge, accounts=storage.accounts, throttle=throttle, totp=totp,
        ephemeral=ephemeral, audit=grants, restricted_scopes=RESTRICTED_SCOPES,
        passkeys=PasskeyService(SqlFactorStore(storage.db), ephemeral, audit, issuer=issuer,
                                rp_name=settings.brand_name or "Cổng xác thực",
                                allowed_aaguids=[str(a) for a in settings.webauthn_allowed_aaguids]))
    return Provider(ProviderParts(
        settings=settings, storage=storage, ephemeral=ephemeral, ring=ring, audit=audit, adapters=adapters,
        policies=policies, throttle=throttle, totp=totp, identity_keys=identity_keys,
        subject_ids=subject_ids, tokens=tokens, codes=codes, sessions=sessions,
        interactions=interactions, clients=clients, grants=grants, person_claims=person_claims,
        session_bridge=session_bridge, client_keys=client_keys,
        dpop=DpopVerifier(ephemeral, derive_secret(kek, "vn-idp dpop-nonce v1"),
                          max_age=settings.dpop_proof_max_age_seconds, nonce_required=settings.dpop_nonce_required),
        backchannel=backchannel, server=server, flow=flow,
        logouts=Logouts(issuer=issuer, storage=storage, ephemeral=ephemeral, clients=clients, hints=hints,
                        bridge=session_bridge, adapters=adapters, audit=grants),
        audit_search=AuditSearch(storage.db, audit),
        registration=ClientRegistration(settings=settings, storage=storage, audit=audit, recorder=grants,
                                        scopes_supported=scopes_supported,
                                        signing_algs=ring.algorithms, forget_client=clients.forget_client),
        scopes_supported=scopes_supported,
        acr_values_supported=tuple(acr_values_supported(issuer)),
        chip=open_chip_step(flow=flow, adapters=adapters, ephemeral=ephemeral, audit=grants,
                            subjects=storage.subjects, hash_key=identity_keys.hash_key, ring=ring),
        signatures=SignatureVerifier(trust, PathValidator(OutboundPolicy.from_settings(settings)), audit,
                                     identities=SignerIdentities(subjects=storage.subjects, grants=storage.grants,
                                                                 clients=clients, subject_ids=subject_ids,
                                                                 hash_key=identity_keys.hash_key)),
        certificate=open_certificate_step(flow=flow, adapters=adapters, ephemeral=ephemeral),
    ))

"""``create_app(settings)``: open the provider's parts and mount the routers, in explicit order."""

from __future__ import annotations

import gc
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from idp.audit.setup import open_forwarder
from idp.endpoints import (
    account,
    audit_api,
    authorize,
    consent,
    console,
    discovery,
    health,
    interaction,
    logout,
    mfa,
    par,
    token,
    upstream,
    userinfo,
)
from idp.oidc.provider import Provider
from idp.runtime import Runtime
from idp.settings import Settings, load_settings
from idp.ui import static_router
from idp.web import middleware
from idp.web.documents import PublicDocuments
from idp.web.protocol import ProtocolEndpoints


def derive_secret(kek: bytes, label: str) -> bytes:
    """A 32-byte secret for one purpose, derived from the key-encryption key (HMAC-SHA256)."""
    return hmac.new(kek, label.encode(), hashlib.sha256).digest()


def open_provider(runtime: Runtime) -> Provider:
    """Open keys, audit, adapters and policies over the runtime's stores."""
    from adapters.registry import load_adapters
    from idp.audit.setup import attach_key_ring, open_audit_log
    from idp.mfa.sealing import derive_factor_key
    from idp.mfa.totp import TotpService
    from idp.security.throttle import Throttle
    from keys.kek import load_kek
    from keys.ring import open_key_ring
    from policies import PolicySet

    settings = runtime.settings
    audit = open_audit_log(settings, runtime.storage.db)
    audit.enable_batching()
    ring = open_key_ring(settings, runtime.storage, audit)
    attach_key_ring(audit, ring, settings)
    kek = load_kek(settings, sealed_keys_exist=False)
    salt = (settings.pairwise_salt.get_secret_value().encode() if settings.pairwise_salt
            else derive_secret(kek, "vn-idp pairwise-sub v1"))
    provider = Provider(settings, runtime.storage, runtime.ephemeral, ring, audit, salt,
                        identity_secret=kek)
    provider.adapters = load_adapters(settings, storage=runtime.storage, ephemeral=runtime.ephemeral)
    provider.policies = PolicySet.from_folder_or_builtin(settings.policies_dir, known_adapters=provider.adapters.ids)
    provider.throttle = Throttle.from_settings(settings, runtime.ephemeral, audit)
    provider.totp = TotpService(runtime.storage, runtime.ephemeral, derive_factor_key(kek), audit)
    _open_profile(provider, derive_secret(kek, "vn-idp dpop-nonce v1"))
    return provider


def _open_profile(provider: Provider, dpop_nonce_secret: bytes) -> None:
    """The strict relying-party profile's parts: client keys, DPoP, back-channel logout."""
    from idp.clients.jwks import ClientKeys
    from idp.oidc.backchannel import BackchannelLogout
    from idp.specs.rfc9449_dpop import DpopVerifier

    settings = provider.settings
    provider.client_keys = ClientKeys.from_settings(settings)
    provider.dpop = DpopVerifier(provider.ephemeral, dpop_nonce_secret, max_age=settings.dpop_proof_max_age_seconds,
                                 nonce_required=settings.dpop_nonce_required)
    provider.backchannel = BackchannelLogout(provider)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the ASGI app. Opening storage and keys happens here, so bad settings fail before serving."""
    settings = settings or (runtime.settings if runtime else load_settings())
    sandbox = None
    if settings.demo:
        from idp.demo.national import start_national_sandbox

        settings, sandbox = start_national_sandbox(settings)
    if runtime is None:
        runtime = Runtime.open(settings)
    else:
        runtime.settings = settings
    provider = open_provider(runtime)
    if settings.demo:
        from idp.demo.seed import seed_demo

        seed_demo(provider)
    provider.ring.start_auto_refresh()
    forwarder = open_forwarder(settings, runtime.storage.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if forwarder is not None:
            forwarder.start()
        # What startup built (modules, templates, keys, policies) lives as long as the process:
        # out of the collector's sight, full collections under load stay short (bench/PROFILE.md).
        gc.collect()
        gc.freeze()
        yield
        await runtime.ephemeral.close_on_loop()
        gc.unfreeze()
        if forwarder is not None:
            forwarder.stop()
        provider.backchannel.close()
        provider.ring.close()
        close_audit = getattr(provider.audit, "close", None)  # the SQL log's group-commit writer
        if close_audit is not None:
            close_audit()
        provider.adapters.close()
        runtime.close()
        if sandbox is not None:
            sandbox.stop()

    # No OpenTelemetry hooks per request: the audit trail is the record, and the check costs CPU.
    telemetry_off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(title="vn-idp", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  telemetry=telemetry_off)  # type: ignore[arg-type]
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.provider = provider
    # Outside the framework's stack, innermost first: the protocol endpoints (inside the security
    # layer), the security layer, then the public documents (the hottest GETs, headers of their own).
    protocol_routes = {**token.ROUTES, **userinfo.ROUTES, **authorize.ROUTES, **interaction.ROUTES}
    middleware.wrap_stack(app, lambda inner: ProtocolEndpoints(inner, routes=protocol_routes))
    middleware.install(app, settings)
    discovery_bytes = discovery.discovery_document(provider)
    documents = {
        "/.well-known/openid-configuration": discovery_bytes,
        "/.well-known/oauth-authorization-server": discovery_bytes,
        "/jwks": discovery.jwks_document(provider),
    }
    middleware.wrap_stack(app, lambda inner: PublicDocuments(inner, settings=settings, documents=documents))
    routers = (health, discovery, authorize, interaction, mfa, upstream, consent, token, par, userinfo, logout,
               account, audit_api, console, static_router)
    for module in routers:
        app.include_router(module.router)
    if settings.registration_enabled:
        from idp.endpoints import registration

        app.include_router(registration.router)
    app.state.audit_auditor_check = console.auditor_name  # an auditor's console session may use /audit/events
    if settings.demo:
        from idp.demo import relying_party

        app.include_router(relying_party.router)
    return app

"""``create_app(settings)``: open the provider's parts (the compose step, :mod:`idp.server`) and
mount the routers, in explicit order."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from idp.audit.setup import open_forwarder
from idp.endpoints import (
    account,
    admin,
    audit_api,
    authorize,
    certificate,
    consent,
    console,
    discovery,
    ekyc,
    health,
    interaction,
    logout,
    mfa,
    organisation,
    par,
    passkeys,
    signatures,
    token,
    upstream,
    userinfo,
)
from idp.observability import metrics
from idp.runtime import Runtime
from idp.server import open_provider
from idp.settings import Settings, load_settings
from idp.ui import static_router
from idp.web import middleware, threads
from idp.web.documents import PublicDocuments
from idp.web.protocol import Handler, ProtocolEndpoints, direct_routes


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the ASGI app. Opening storage and keys happens here, so bad settings fail before serving."""
    settings = settings or (runtime.settings if runtime else load_settings())
    sandbox = None
    if settings.demo:
        from idp.demo.national import start_national_sandbox

        settings, sandbox = start_national_sandbox(settings)
    threads.size_pool(settings.database_pool_size)
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
        provider.close()
        runtime.close()
        metrics.worker_stopped()
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
    protocol_routes: dict[tuple[str, str], Handler] = {}  # the routers' direct routes, filled once mounted below
    middleware.wrap_stack(app, lambda inner: ProtocolEndpoints(inner, routes=protocol_routes))
    middleware.install(app, settings)
    served: set[str] = set()  # every path the app serves, filled once the routers are mounted below
    discovery_bytes = discovery.discovery_document(provider, served)
    app.state.discovery_document = discovery_bytes
    documents = {
        "/.well-known/openid-configuration": discovery_bytes,
        "/.well-known/oauth-authorization-server": discovery_bytes,
        "/jwks": discovery.jwks_document(provider),
    }
    middleware.wrap_stack(app, lambda inner: PublicDocuments(inner, settings=settings, documents=documents))
    routers = (health, discovery, authorize, interaction, mfa, passkeys, upstream, consent, organisation, token, par,
               userinfo, logout, account, audit_api, console, admin, ekyc, certificate, signatures, static_router)
    mounted = [module.router for module in routers]
    if settings.registration_enabled:
        from idp.endpoints import registration

        mounted.append(registration.router)
    for router in mounted:
        app.include_router(router)
    protocol_routes.update(direct_routes(mounted))
    served.update(getattr(route, "path", "") for router in mounted for route in router.routes)
    app.state.audit_auditor_check = console.auditor_name  # an auditor's console session may use /audit/events
    if settings.demo:
        from idp.demo import relying_party

        app.include_router(relying_party.router)
    return app

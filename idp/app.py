"""``create_app(settings)``: open the provider's parts and mount the routers that are enabled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from idp.endpoints import health
from idp.runtime import Runtime
from idp.settings import Settings, load_settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the ASGI app. Opening storage happens here, so a bad setting fails before serving."""
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(title="vn-idp", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    app.include_router(health.router)
    return app

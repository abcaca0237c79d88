"""The app factory every service uses: lifespan, error shape, health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.errors import install_error_handlers
from services.common.health import router as health_router
from services.common.runtime import ServiceRuntime
from services.common.service import ServiceDefinition
from services.common.settings import Settings, get_settings

API_PREFIXES = {
    "auth": "/api/users",
    "tickets": "/api/tickets",
    "orders": "/api/orders",
    "payments": "/api/payments",
}


def create_app(definition: ServiceDefinition, settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime.running(definition, settings or get_settings()) as runtime:
            app.state.runtime = runtime
            yield

    prefix = API_PREFIXES[definition.name]
    app = FastAPI(
        title=f"Ticketing {definition.name}",
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    return app

"""The app factory every service uses: lifespan, error shape, health routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.http.body_limit import BodyLimit
from services.common.http.errors import DOCUMENTED_ERRORS, install_error_handlers
from services.common.http.forwarded import resolve_forwarded_client
from services.common.http.health import router as health_router
from services.common.http.throttle import Throttle
from services.common.http.waiting import WaitingRequests
from services.common.observability.metrics import HttpMetrics
from services.common.observability.tracing import instrument_app
from services.common.runtime import ServiceRuntime
from services.common.service import ServiceDefinition
from services.common.settings import Settings, get_settings
from services.common.temporal import LazyTemporalClient


def create_app(definition: ServiceDefinition, settings: Settings | None = None) -> FastAPI:
    service_settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ServiceRuntime.running(definition, service_settings) as runtime:
            app.state.runtime = runtime
            app.state.temporal = LazyTemporalClient(service_settings)
            app.state.throttle = Throttle(service_settings)
            app.state.waiting = WaitingRequests(service_settings)
            yield

    prefix = definition.api_prefix
    app = FastAPI(
        title=f"Ticketing {definition.name}",
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        responses=DOCUMENTED_ERRORS,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=service_settings.max_body_bytes)
    app.add_middleware(HttpMetrics, service=definition.name)
    resolve_forwarded_client(app, service_settings.trusted_proxies)
    instrument_app(app)
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    return app


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """Invalid input answers 400 in the documented error shape, never FastAPI's 422."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            routes=app.routes,
            openapi_version=app.openapi_version,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema

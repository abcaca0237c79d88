"""One base URL for the whole API: every service's app in one process, by path prefix.

Each service keeps its own app, lifespan, database and bus connection, exactly as when it
runs alone (`ticketing serve <service>`); the gateway only picks the app by the path's
prefix and runs all their lifespans. Paths under ``/api/`` that no service owns get the
documented 404; every other path goes to the web shop (``web/``), itself a client of the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.http.app import create_app
from services.common.http.errors import install_error_handlers
from services.common.http.health import readiness_problems
from services.common.observability.metrics import metrics_response
from services.common.settings import SERVICE_NAMES, ServiceName, Settings, get_settings
from services.definitions import load_definition
from web.app import create_app as create_web_app


class Gateway:
    def __init__(
        self, apps: dict[str, FastAPI], fallback: FastAPI, web: ASGIApp | None = None
    ) -> None:
        self.apps = apps
        self.fallback = fallback
        self.web = web
        self.fallback_paths = {getattr(route, "path", None) for route in fallback.routes}

    def app_for(self, path: str) -> ASGIApp:
        for prefix, app in self.apps.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app
        if self.web is None or path == "/api" or path.startswith("/api/"):
            return self.fallback
        if path in self.fallback_paths:
            return self.fallback
        return self.web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.fallback(scope, receive, send)
            return
        await self.app_for(scope["path"])(scope, receive, send)


def create_gateway(
    settings: Settings | None = None, services: Iterable[ServiceName] = SERVICE_NAMES
) -> Gateway:
    settings = settings or get_settings()
    definitions = [load_definition(name) for name in services]
    service_apps = [(definition, create_app(definition, settings)) for definition in definitions]
    apps = {prefix: app for definition, app in service_apps for prefix in definition.api_prefixes}
    fallback = FastAPI(title="Ticketing", docs_url=None, redoc_url=None)
    # The shop calls the API as any client does, over HTTP, but here the API is in this
    # very process: its requests go straight to the services' apps instead of out
    # through a socket and back in through uvicorn (the page's second hop cost more than
    # the API's own work). Its calls come from 127.0.0.1, a proxy the services trust by
    # default, so they count the visitor's address the shop forwards.
    # uvicorn and httpx spell the same ASGI types each their own way.
    api_only: Any = Gateway(apps, fallback)
    web = create_web_app(api_transport=httpx.ASGITransport(app=api_only, client=("127.0.0.1", 0)))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in [*(app for _, app in service_apps), web]:
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    fallback.router.lifespan_context = lifespan
    install_error_handlers(fallback)

    @fallback.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @fallback.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        # One process, one registry: every service's figures at once.
        return await metrics_response()

    @fallback.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        problems = []
        for app in apps.values():
            problems.extend(await readiness_problems(app.state.runtime))
        if problems:
            return JSONResponse({"errors": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return Gateway(apps, fallback, web)
